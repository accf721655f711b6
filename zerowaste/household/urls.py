"""Household pages, mounted at /household/. Each slice keeps its own `urls_<slice>.py`, included here."""

from django.urls import include, path  # noqa: F401  (slices add their includes below)

app_name = "household"

urlpatterns: list = []
