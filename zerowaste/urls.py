from django.urls import include, path

from zerowaste.api import api

urlpatterns = [
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("zerowaste.portal.urls")),
]
