"""ECharts and htmx are served from our static files (npm, collected by `zerowaste serve`), no CDN."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import override_settings


def test_vendor_assets_are_found_and_collected(tmp_path: Path) -> None:
    for name in ("vendor/echarts/echarts.min.js", "vendor/htmx/htmx.min.js", "portal/charts.js"):
        assert finders.find(name), f"{name}: run scripts/bootstrap (npm ci)"
    with override_settings(
        STATIC_ROOT=tmp_path,
        STORAGES={"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
    ):
        call_command(
            "collectstatic", interactive=False, verbosity=0, ignore_patterns=["*.map", "*.esm*", "extension*"]
        )
    assert (tmp_path / "vendor" / "echarts" / "echarts.min.js").stat().st_size > 500_000
    assert (tmp_path / "vendor" / "htmx" / "htmx.min.js").exists()
