from argparse import ArgumentParser
from typing import Any

from zerowaste.core.cli import PlatformCommand, serve


class Command(PlatformCommand):
    help = "Serve the platform on 127.0.0.1 (migrates and collects static files first)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--no-household-consumer",
            action="store_true",
            help="do not consume household device events from MQTT (the scheduled detection still runs)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"serving on http://127.0.0.1:{options['port']}/")
        self.stdout.flush()
        serve(
            options["port"],
            workers=options["workers"],
            household_consumer=not options["no_household_consumer"],
        )
