from django.apps import AppConfig


class HazardousConfig(AppConfig):
    name = "zerowaste.hazardous"
    label = "hazardous"
    verbose_name = "危废试点 / Hazardous-waste pilot"

    def ready(self) -> None:
        from . import demo  # noqa: F401 - registers the demo step
        from .services import register_with_declarations

        register_with_declarations()

        from zerowaste.transfers.services import register_stream_check

        from .services import refuse_hw_manifest_of_identified_waste

        register_stream_check(refuse_hw_manifest_of_identified_waste)
