from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "zerowaste.catalog"
    label = "catalog"
    verbose_name = "名录 / Waste catalogs"

    def ready(self) -> None:
        from . import demo  # noqa: F401 - registers the demo step
