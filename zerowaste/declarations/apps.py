from django.apps import AppConfig


class DeclarationsConfig(AppConfig):
    name = "zerowaste.declarations"
    label = "declarations"
    verbose_name = "申报登记 / Declarations"

    def ready(self) -> None:
        from . import demo  # noqa: F401 - registers the demo step
