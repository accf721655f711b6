"""Phone pages: the field home, the QR scan routes, hand-over confirmation, redemption, a household's
points page (ADR 0056). Included by household/urls.py (app_name "household")."""

from django.urls import path

from . import views_field

urlpatterns = [
    path("field/", views_field.home, name="field-home"),
    path("field/scan/", views_field.scan, name="field-scan"),
    path("field/confirm/", views_field.confirm, name="field-confirm"),
    path("field/redeem/", views_field.redeem, name="field-redeem"),
    path("field/alarms/<int:alarm_id>/resolve/", views_field.resolve_alarm, name="field-alarm-resolve"),
    path("scan/source/<str:source_code>", views_field.scan_source, name="scan-source"),
    path("scan/bin/<str:chip>", views_field.scan_bin, name="scan-bin"),
    path("points/<str:token>/", views_field.resident_points, name="resident-points"),
]
