from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "zerowaste.exchange"
    label = "exchange"
    verbose_name = "再生资源交易 / Recycling exchange"

    def ready(self) -> None:
        from . import demo  # noqa: F401 - registers the demo step
