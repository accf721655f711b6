from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core import imports, services
from zerowaste.core.cli import PlatformCommand


class Command(PlatformCommand):
    help = "Organizations: `import FILE.xlsx|csv` in bulk, `list` them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="register organizations from Excel or CSV (all rows or none)")
        imp.add_argument("file")
        imp.add_argument("--sheet")
        self.add_zone_argument(imp)
        self.add_format_argument(imp)
        lst = sub.add_parser("list", help="list organizations")
        lst.add_argument("--role")
        lst.add_argument("--query")
        self.add_zone_argument(lst)
        self.add_format_argument(lst)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.system_actor(options)
        if options["action"] == "import":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"no such file: {path}")
            created = imports.import_organizations(
                actor, path.read_bytes(), filename=path.name, sheet=options.get("sheet")
            )
            data = {
                "created": len(created),
                "organizations": [{"id": o.pk, "uscc": o.uscc, "name": o.name} for o in created],
            }
            self.emit(options, data, f"imported {len(created)} organizations")
            return
        orgs = services.list_organizations(actor, role=options.get("role"), query=options.get("query"))
        rows: list[dict[str, Any]] = [
            {
                "id": o.pk,
                "uscc": o.uscc,
                "name": o.name,
                "name_en": o.name_en,
                "roles": o.role_codes,
                "industry": o.industry,
                "is_active": o.is_active,
            }
            for o in orgs
        ]
        self.emit(
            options,
            rows,
            "\n".join(f"{r['id']:>6} {r['uscc']} {','.join(r['roles']):<20} {r['name']}" for r in rows),
        )
