from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "zerowaste.indicators"
    label = "indicators"
    verbose_name = "指标体系 / Indicators"

    def ready(self) -> None:
        from . import demo  # noqa: F401 - registers the demo step
