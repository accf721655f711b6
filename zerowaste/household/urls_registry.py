"""The registry's pages under /household/registry/ (included by household/urls.py)."""

from django.urls import path

from . import views_registry as views

urlpatterns = [
    path("registry/", views.registry_home, name="registry"),
    path("registry/import/", views.import_view, name="registry-import"),
    path("registry/template.xlsx", views.template_view, name="registry-template"),
    path("registry/export.xlsx", views.export_view, name="registry-export"),
    path("registry/qr-sheet", views.qr_sheet, name="registry-qr-sheet"),
    path("registry/sources/add/", views.source_add, name="registry-source-add"),
    path("registry/sources/<str:source_code>/", views.source_edit, name="registry-source"),
    path("registry/sources/<str:source_code>/active/", views.source_active, name="registry-source-active"),
    path("registry/stations/add/", views.station_add, name="registry-station-add"),
    path("registry/stations/<int:hh_station_id>/", views.station_edit, name="registry-station"),
    path(
        "registry/stations/<int:hh_station_id>/active/", views.station_active, name="registry-station-active"
    ),
    path("registry/bins/add/", views.bin_add, name="registry-bin-add"),
    path("registry/bins/<int:hh_bin_id>/", views.bin_edit, name="registry-bin"),
    path("registry/bins/<int:hh_bin_id>/active/", views.bin_active, name="registry-bin-active"),
    path("registry/devices/add/", views.device_add, name="registry-device-add"),
    path("registry/devices/<int:hh_device_id>/active/", views.device_active, name="registry-device-active"),
]
