"""Command-line support shared by every app, and the core commands (serve, demo, audit, org).

`PlatformCommand` gives each command `--format json|text`, one-line errors with a non-zero exit,
and the zone/actor the command acts as.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError

from .authz import Actor
from .context import origin
from .errors import DomainError
from .models import Zone

DJANGO_BASE_OPTIONS = frozenset(
    {
        "--version",
        "--verbosity",
        "--settings",
        "--pythonpath",
        "--traceback",
        "--no-color",
        "--force-color",
        "--skip-checks",
    }
)


class PlatformCommand(BaseCommand):
    """Base of every `zerowaste` command: uniform errors, JSON output, acting zone."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        parser = super().create_parser("zerowaste", subcommand, **kwargs)
        # Django's own options (--settings, --traceback, ...) still work but would bury ours in --help.
        for action in parser._actions:
            if set(action.option_strings) & DJANGO_BASE_OPTIONS:
                action.help = argparse.SUPPRESS
        return parser

    def run_from_argv(self, argv: list[str]) -> None:
        with origin("cli"):
            super().run_from_argv(argv)

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except DomainError as exc:
            self._fail(exc.message, exc.errors)
        except CommandError as exc:
            self._fail(str(exc), [])
        except DatabaseError as exc:
            # An unreachable or unmigrated database: one line, not a traceback.
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self._fail(
                f"database error: {first_line} (is DATABASE_URL right and `zerowaste manage migrate` run?)",
                [],
            )

    def _fail(self, message: str, errors: list[dict[str, Any]]) -> None:
        sys.stderr.write(f"zerowaste {self._name()}: error: {message}\n")
        for error in errors[1:21]:
            where = " ".join(f"{k}={v}" for k, v in error.items() if k != "message" and v not in ("", None))
            sys.stderr.write(f"  {where}: {error.get('message')}\n")
        if len(errors) > 21:
            sys.stderr.write(f"  ... and {len(errors) - 21} more\n")
        sys.exit(1)

    def _name(self) -> str:
        return self.__module__.rsplit(".", 1)[-1]

    @staticmethod
    def add_format_argument(parser: ArgumentParser) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text", help="output format")

    @staticmethod
    def add_zone_argument(parser: ArgumentParser) -> None:
        parser.add_argument("--zone", help="zone code (default: the only zone, or the demo zone)")

    def emit(self, options: dict[str, Any], data: Any, text: str | None = None) -> None:
        """Print `data` as one JSON document, or `text` for people."""
        if options.get("format") == "json":
            self.stdout.write(json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False))
        else:
            self.stdout.write(
                text
                if text is not None
                else json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
            )

    def zone(self, options: dict[str, Any]) -> Zone:
        code = options.get("zone")
        if code:
            zone = Zone.objects.filter(code=code).first()
            if zone is None:
                raise CommandError(f"no zone {code!r}")
            return zone
        zones = list(Zone.objects.order_by("pk")[:2])
        if not zones:
            raise CommandError("no zone yet: run `zerowaste demo` or create one")
        if len(zones) > 1:
            from .demo import DEMO_ZONE_CODE

            demo = Zone.objects.filter(code=DEMO_ZONE_CODE).first()
            if demo is None:
                raise CommandError("several zones exist: name one with --zone")
            return demo
        return zones[0]

    def system_actor(self, options: dict[str, Any]) -> Actor:
        return Actor.system(self.zone(options))


def serve(port: int, host: str = "127.0.0.1", workers: int = 2, household_consumer: bool = True) -> None:
    """Migrate, collect static files, and serve with gunicorn; beside it the task worker and the
    household service (the MQTT consumer, unless `household_consumer` is False, and the scheduled
    detection)."""
    from .ratelimit import is_per_process, store_setting

    if workers > 1 and settings.RATELIMIT_ENABLED and is_per_process(store_setting()):
        sys.stderr.write(
            f"zerowaste serve: warning: RATELIMIT_STORE {store_setting()} counts per worker: "
            f"{workers} workers let {workers}x the rate limit through\n"
        )
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn) if gunicorn.exists() else "gunicorn",
        "zerowaste.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        "4",
        # Requests in flight get 10 s after a stop signal; `supervise` kills what outlives 15 s.
        "--graceful-timeout",
        "10",
        "--access-logfile",
        "-",
        "--chdir",
        str(settings.BASE_DIR),
    ]
    # The background-task worker runs beside the web server; one signal to `serve` stops both.
    children = [subprocess.Popen(command)]  # noqa: S603 - fixed argv, no shell
    if "django_tasks_db" in settings.TASKS["default"]["BACKEND"]:
        children.append(subprocess.Popen([sys.executable, "-m", "zerowaste.cli", "manage", "db_worker"]))
    children.append(subprocess.Popen(household_service_command(household_consumer)))  # noqa: S603
    supervise(children)


def household_service_command(consumer: bool = True) -> list[str]:
    """The household background service `serve` runs (household/service.py)."""
    command = [sys.executable, "-m", "zerowaste.cli", "manage", "household", "service"]
    return command if consumer else [*command, "--no-consumer"]


def supervise(children: list[subprocess.Popen[bytes]], grace_s: float = 15.0) -> int:
    """Wait for the children; SIGTERM or SIGINT to this process (or any child's exit) stops them all.

    Python's default SIGTERM ends this process at once and leaves gunicorn and the task worker running
    (issue 16, item 12): so the signal is caught and passed on, and a child that outlives `grace_s`
    is killed. Returns the exit status of the first child (gunicorn).
    """
    stopping: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        for child in children:
            if child.poll() is None:
                # gunicorn stops gracefully on TERM; the task worker finishes its task on TERM.
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return children[0].returncode or 0
