from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "zerowaste.core"
    label = "core"
    verbose_name = "平台基础 / Platform core"

    def ready(self) -> None:
        from . import demo, signals  # noqa: F401 - registers the demo step and DB hooks
