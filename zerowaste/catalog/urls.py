from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.search, name="search"),
    path("entry/<str:stream>/<str:code>/", views.entry, name="entry"),
    path("versions/", views.versions, name="versions"),
    path("versions/import/", views.import_version, name="import"),
    path("versions/<int:version_id>/", views.version_detail, name="version"),
    path("versions/<int:version_id>/publish/", views.publish, name="publish"),
    path("versions/<int:version_id>/recode/", views.recode, name="recode"),
    path("versions/<int:version_id>/entry/", views.edit_entry, name="edit_entry"),
    path("export/<str:stream>/", views.export, name="export"),
]
