from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core import imports, licences, services
from zerowaste.core.authz import Actor
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import Licence


class Command(PlatformCommand):
    help = (
        "Organizations: `import FILE.xlsx|csv` in bulk, `list` them; `licence pending|verify|reject|scan`: "
        "the verification of the licences organizations enter."
    )

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
        lic = sub.add_parser("licence", help="licences awaiting verification; verify, reject, upload a scan")
        lic_sub = lic.add_subparsers(dest="licence_action", required=True)
        pending = lic_sub.add_parser("pending", help="list the licences awaiting a regulator's verification")
        self.add_zone_argument(pending)
        self.add_format_argument(pending)
        verify = lic_sub.add_parser(
            "verify", help="record that the licence was checked against its certificate"
        )
        reject = lic_sub.add_parser(
            "reject", help="reject the licence, with the reason its organization sees"
        )
        scan = lic_sub.add_parser("scan", help="upload the certificate scan (PDF, PNG or JPEG) of a licence")
        for parser_ in (verify, reject, scan):
            parser_.add_argument("organization_id", type=int)
            parser_.add_argument("licence_id", type=int)
        reject.add_argument("--reason", required=True, help="why (shown to the organization)")
        scan.add_argument("file")
        for parser_ in (verify, reject, scan):
            self.add_zone_argument(parser_)
            self.add_format_argument(parser_)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.system_actor(options)
        if options["action"] == "licence":
            self._licence(actor, options)
            return
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

    def _licence(self, actor: Actor, options: dict[str, Any]) -> None:
        action = options["licence_action"]
        if action == "pending":
            rows = [_licence_row(lic) for lic in licences.pending_licences(actor)]
            self.emit(
                options,
                rows,
                "\n".join(
                    f"{r['organization_id']:>6} {r['id']:>6} {r['kind']:<22} {r['number']:<20} "
                    f"{r['valid_from']}..{r['valid_to']} {'scan' if r['has_scan'] else 'no scan'} "
                    f"{r['organization_name']}"
                    for r in rows
                )
                or "no licence awaits verification",
            )
            return
        org_id, licence_id = options["organization_id"], options["licence_id"]
        if action == "verify":
            licence = licences.verify_licence(actor, org_id, licence_id)
        elif action == "reject":
            licence = licences.reject_licence(actor, org_id, licence_id, reason=options["reason"])
        else:
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"no such file: {path}")
            with path.open("rb") as file:
                content = licences.read_scan_upload(file)
            licences.upload_scan(actor, org_id, licence_id, content=content, filename=path.name)
            licence = services.get_licence(actor, org_id, licence_id)
        row = _licence_row(licence)
        self.emit(options, row, f"licence {licence.number}: {row['status']}")


def _licence_row(licence: Licence) -> dict[str, Any]:
    return {
        "id": licence.pk,
        "organization_id": licence.organization_id,
        "organization_name": licence.organization.name,
        "kind": licence.kind,
        "number": licence.number,
        "issuer": licence.issuer,
        "valid_from": licence.valid_from,
        "valid_to": licence.valid_to,
        "waste_codes": licence.waste_codes,
        "annual_capacity_t": licence.annual_capacity_t,
        "status": licence.status,
        "rejection_reason": licence.rejection_reason,
        "reviewed_by": licence.reviewed_by,
        "reviewed_at": licence.reviewed_at,
        "has_scan": licence.scans.exists(),
    }
