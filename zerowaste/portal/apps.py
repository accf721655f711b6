from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "zerowaste.portal"
    label = "portal"
    verbose_name = "门户 / Portal"
