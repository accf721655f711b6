"""URLs: the API, the language switch, each app's pages under /<app label>/, and the portal at /.

An installed `zerowaste.<app>` with a `urls.py` is mounted at `/<label>/` without editing this file.
"""

import importlib.util

from django.apps import apps
from django.urls import include, path

from zerowaste.api import api

urlpatterns = [
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

for config in apps.get_app_configs():
    is_app_with_pages = (
        config.name.startswith("zerowaste.")
        and config.label not in {"core", "portal"}
        and importlib.util.find_spec(f"{config.name}.urls") is not None
    )
    if is_app_with_pages:
        urlpatterns.append(path(f"{config.label}/", include(f"{config.name}.urls")))

urlpatterns.append(path("", include("zerowaste.portal.urls")))
