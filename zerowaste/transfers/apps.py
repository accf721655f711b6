from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "zerowaste.transfers"
    label = "transfers"
    verbose_name = "电子联单 / Transfers"

    def ready(self) -> None:
        from . import (
            demo,  # noqa: F401 - registers the demo step
            services,
        )

        services.register_with_declarations()
