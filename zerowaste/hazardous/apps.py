from django.apps import AppConfig


class HazardousConfig(AppConfig):
    name = "zerowaste.hazardous"
    label = "hazardous"
    verbose_name = "危废试点 / Hazardous-waste pilot"
