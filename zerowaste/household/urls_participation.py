"""The participation page: /household/participation/."""

from django.urls import path

from . import views_participation as views

urlpatterns = [path("participation/", views.participation_view, name="participation")]
