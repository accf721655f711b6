"""Household pages, mounted at /household/. Each slice keeps its own `urls_<slice>.py`, included here."""

from django.urls import include, path

app_name = "household"

urlpatterns: list = []
urlpatterns.append(path("", include("zerowaste.household.urls_park")))  # park17: /household/park/…
urlpatterns += [path("", include("zerowaste.household.urls_field"))]
urlpatterns.append(path("", include("zerowaste.household.urls_supervise")))

urlpatterns += [path("", include("zerowaste.household.urls_registry"))]
urlpatterns.append(path("", include("zerowaste.household.urls_ops")))
urlpatterns.append(path("", include("zerowaste.household.urls_participation")))
