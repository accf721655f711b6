"""A park's "1+4" regime pages, under /household/park/."""

from django.urls import path

from . import views_park

urlpatterns = [
    path("park/", views_park.day_view, name="park"),
    path("park/log/", views_park.log_view, name="park-log"),
    path("park/discharge/", views_park.discharge_view, name="park-discharge"),
    path("park/month/", views_park.month_view, name="park-month"),
    path("park/enterprises/", views_park.enterprises_view, name="park-enterprises"),
    path("park/stations/", views_park.stations_view, name="park-stations"),
]
