from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError

from zerowaste.core import audit_checkpoints
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.demo import DemoExists, build_demo


class Command(PlatformCommand):
    help = "Build (or rebuild) the deterministic demo zone shaped like the seed's Beijing E-Town."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data (default 1)")
        parser.add_argument("--scale", type=int, default=1, help="multiply the number of organizations")
        parser.add_argument("--reset", action="store_true", help="flush the whole database first")
        self.add_format_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["scale"] < 1 or options["scale"] > 1000:
            raise CommandError("--scale must be between 1 and 1000")
        call_command("migrate", interactive=False, verbosity=0)
        try:
            result = build_demo(seed=options["seed"], scale=options["scale"], reset=options["reset"])
        except DemoExists as exc:
            raise CommandError(str(exc)) from exc
        # The public page shows the chain's signed checkpoint from the start (then daily, by cron).
        audit_checkpoints.write_checkpoints(result.zone.pk)
        data = {
            "zone": result.zone.code,
            "organizations": result.organizations,
            "rebuilt": result.rebuilt,
            "already_built": result.already_built,
            "accounts": result.accounts,
        }
        state = "already built" if result.already_built else ("rebuilt" if result.rebuilt else "built")
        lines = [
            f"demo zone {result.zone.code} ({result.zone.name}) {state}: "
            f"{result.organizations} organizations",
            "demo accounts (username / password):",
        ]
        lines += [
            f"  {a['username']:<10} {a['password']}   {a['role']} — {a['organization']}"
            for a in result.accounts
        ]
        self.emit(options, data, "\n".join(lines))
