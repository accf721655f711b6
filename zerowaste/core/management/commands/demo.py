from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError

from zerowaste.core import audit_checkpoints
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.demo import DemoExists, build_demo
from zerowaste.core.progress import StepProgress


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
        # Progress goes to stderr (stdout stays the accounts, or JSON); `-v 0` silences it.
        # The raw stream: Django's wrapper would end a bar's every redraw with a newline, in red.
        quiet = options["verbosity"] == 0
        stderr = getattr(self.stderr, "_out", self.stderr)
        migrating = StepProgress(stderr, "migrate")
        if not quiet:
            migrating.note("applying the database migrations")
        call_command("migrate", interactive=False, verbosity=0)
        if not quiet:
            migrating.finish("database up to date")
        building = StepProgress(stderr, "demo")
        try:
            result = build_demo(
                seed=options["seed"],
                scale=options["scale"],
                reset=options["reset"],
                progress=None if quiet else building.step,
            )
        except DemoExists as exc:
            raise CommandError(str(exc)) from exc
        if not result.already_built:
            # The public page shows the chain's signed checkpoint from the start (then daily, by cron).
            if not quiet:
                building.note("signing the audit log's first checkpoint")
            audit_checkpoints.write_checkpoints(result.zone.pk)
        if not quiet:
            building.finish(
                "the demo zone already exists: reused (zerowaste demo --reset rebuilds it)"
                if result.already_built
                else "demo zone built"
            )
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
