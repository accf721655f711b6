"""`zerowaste household import|export|qr-sheet`: the registry's workbook and QR sheets from the shell."""

from __future__ import annotations

from argparse import _SubParsersAction
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.authz import Actor
from zerowaste.core.models import Area

from . import registry

ACTIONS = frozenset({"import", "export", "qr-sheet"})


def add_parsers(sub: _SubParsersAction) -> list[Any]:  # type: ignore[type-arg]
    import_ = sub.add_parser(
        "import", help="import the registry workbook (sheets 户, 单位, 站点, 容器): all rows or none"
    )
    import_.add_argument("file", help="the .xlsx workbook")
    import_.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    export = sub.add_parser("export", help="the registry as a workbook in the import's layout")
    export.add_argument("--out", required=True, help="the .xlsx file to write")
    qr = sub.add_parser("qr-sheet", help="a community's printable QR codes (一户一码) as an A4 PDF")
    qr.add_argument("--community", required=True, help="the community's code")
    qr.add_argument("--out", required=True, help="the .pdf file to write")
    qr.add_argument("--bins", action="store_true", help="the bins' codes instead of the households'")
    qr.add_argument(
        "--base-url", default="http://127.0.0.1:8000", help="the platform's address the codes open"
    )
    return [import_, export, qr]


def run(command: Any, actor: Actor, action: str, options: dict[str, Any]) -> None:
    if action == "import":
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"file: {path} does not exist")
        result = registry.import_workbook(
            actor, path.read_bytes(), filename=path.name, dry_run=options["dry_run"]
        )
        data = result.as_dict()
        text = ("checked, nothing written: " if result.dry_run else "") + "; ".join(
            f"{kind} {result.created.get(kind, 0)} new, {result.updated.get(kind, 0)} changed, "
            f"{result.unchanged.get(kind, 0)} unchanged"
            for kind in ("sources", "stations", "bins")
        )
        command.emit(options, data, text)
    elif action == "export":
        out = Path(options["out"])
        out.write_bytes(registry.export_workbook(actor))
        command.emit(options, {"out": str(out)}, f"wrote {out}")
    else:
        community = Area.objects.filter(
            zone_id=actor.zone_id, code=options["community"], kind=Area.Kind.COMMUNITY
        ).first()
        if community is None:
            raise CommandError(f"community: no community {options['community']} in this zone")
        what = "bins" if options["bins"] else "sources"
        community, tiles = registry.qr_tiles(actor, community.pk, what, options["base_url"])
        out = Path(options["out"])
        out.write_bytes(registry.qr_pdf(community, tiles))
        command.emit(options, {"out": str(out), "tiles": len(tiles)}, f"wrote {len(tiles)} codes to {out}")
