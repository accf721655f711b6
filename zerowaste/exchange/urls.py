from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("", views.board_view, name="home"),
    path("mine/", views.mine_view, name="mine"),
    path("proposals/", views.proposals_view, name="proposals"),
    path("proposals/<int:proposal_id>/", views.proposal_view, name="proposal"),
    path("proposals/<int:proposal_id>/<str:decision>/", views.decide_view, name="decide"),
    path("photos/<int:photo_id>/", views.photo_view, name="photo"),
    path("runs/", views.runs_view, name="runs"),
    path("runs/<int:match_run_id>/", views.run_view, name="run"),
    path("pools/", views.pools_view, name="pools"),
    path("pools/<int:pool_run_id>/", views.pool_view, name="pool"),
]
