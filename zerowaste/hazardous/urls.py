from django.urls import path

from . import views

app_name = "hazardous"

urlpatterns = [
    path("", views.home, name="home"),
    path("tiers/", views.tiers_view, name="tiers"),
    path("stores/<int:hw_store_id>/", views.store_view, name="store"),
    path("stores/<int:hw_store_id>/summary/", views.summary_view, name="summary"),
    path("stores/<int:hw_store_id>/ledger/", views.ledger_view, name="ledger"),
    path("summary/", views.producer_summary_view, name="producer_summary"),
    path("declaration-report/", views.declaration_report_view, name="declaration_report"),
    path("containers/<int:hw_container_id>/", views.container_view, name="container"),
    path("containers/<int:hw_container_id>/label.pdf", views.label_view, name="label"),
    path("containers/<int:hw_container_id>/extend/", views.extend_view, name="extend"),
    path("plans/", views.plans_view, name="plans"),
    path("reports/", views.reports_view, name="reports"),
    path("inspections/", views.inspections_view, name="inspections"),
    path("facilities/", views.facilities_view, name="facilities"),
]
