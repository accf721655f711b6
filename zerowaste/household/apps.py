from django.apps import AppConfig


class HouseholdConfig(AppConfig):
    name = "zerowaste.household"
    label = "household"
    verbose_name = "垃圾分类全流程 / Household waste"

    def ready(self) -> None:
        from . import (
            demo,  # noqa: F401 - registers the demo step
            demo_park,  # noqa: F401 - registers the park 1+4 demo step
        )
