"""Supervision pages (regulators): the dashboard, an area, the events of one day and place, alarms."""

from django.urls import path

from . import views_supervise as views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("areas/<int:area_id>/", views.area_view, name="area"),
    path("events/", views.events_view, name="events"),
    path("alarms/", views.alarms_view, name="alarms"),
    path("alarms/<int:alarm_id>/", views.alarm_view, name="alarm-detail"),
]
