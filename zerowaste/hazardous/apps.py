from django.apps import AppConfig


class HazardousConfig(AppConfig):
    name = "zerowaste.hazardous"
    label = "hazardous"
    verbose_name = "危废试点 / Hazardous-waste pilot"

    def ready(self) -> None:
        from . import demo  # noqa: F401 - registers the demo step
        from .services import register_with_declarations

        register_with_declarations()

        from zerowaste.core import streams

        from .services import identified_producers, refuse_hw_of_identified_waste

        # manifests and declarations alike
        streams.register(refuse_hw_of_identified_waste, identified_producers)
