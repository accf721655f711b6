"""`zerowaste`: the single command-line entry point.

`zerowaste COMMAND ...` runs the management command of that name from one of the platform's apps;
`zerowaste --help` lists them. Django's own commands stay reachable as `zerowaste manage ...`.
"""

from __future__ import annotations

import os
import sys


def _platform_commands() -> dict[str, str]:
    from django.core.management import get_commands

    return {name: app for name, app in get_commands().items() if app.startswith("zerowaste.")}


def _summary(name: str, app: str) -> str:
    from django.core.management import load_command_class

    command = load_command_class(app, name)
    return (command.help or "").strip().splitlines()[0] if command.help else ""


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zerowaste.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    commands = _platform_commands()
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print("usage: zerowaste COMMAND [options]   (zerowaste COMMAND --help for each)\n")
        print("commands:")
        for name in sorted(commands):
            print(f"  {name:<12} {_summary(name, commands[name])}")
        print(f"  {'manage':<12} run a Django management command (migrate, createsuperuser, ...)")
        print("\nenvironment: DATABASE_URL (postgres://... or sqlite:///...), DJANGO_SECRET_KEY")
        return
    if argv[0] == "manage":
        execute_from_command_line(["zerowaste manage", *argv[1:]])
        return
    if argv[0] not in commands:
        sys.stderr.write(f"zerowaste: error: unknown command {argv[0]!r} (see zerowaste --help)\n")
        sys.exit(2)
    execute_from_command_line(["zerowaste", *argv])


if __name__ == "__main__":
    main()
