"""`zerowaste catalog list|show|import|diff|publish|export|load|check` — the catalogs from the shell."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.cli import PlatformCommand

from . import rules, services
from .models import CatalogVersion


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from exc


class CatalogCommand(PlatformCommand):
    help = "Waste catalogs: list, show, import, diff, publish, export, load (bundled catalogs), check a code."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        def common(p: ArgumentParser, *, stream_required: bool = True, version: bool = True) -> None:
            p.add_argument("--stream", choices=rules.STREAMS, required=stream_required)
            if version:
                p.add_argument("--version", dest="label", help="version label, e.g. 2020 (default: in force)")
            self.add_zone_argument(p)
            self.add_format_argument(p)

        lst = sub.add_parser("list", help="entries of a catalog (the version in force, or --version)")
        common(lst, stream_required=False)
        lst.add_argument("--query", default="", help="code, code prefix or words of the name")
        lst.add_argument("--category")
        lst.add_argument("--hazard", choices=list(rules.HAZARD_CHARACTERISTICS))
        lst.add_argument("--date", help="the version in force on this date (default today)")

        show = sub.add_parser("show", help="one entry, the versions it exists in and its mappings")
        show.add_argument("code")
        common(show, stream_required=False)

        imp = sub.add_parser("import", help="read an Excel/CSV file into a draft version (all rows or none)")
        imp.add_argument("file")
        common(imp, version=False)
        imp.add_argument("--version", dest="label", required=True, help="label of the new version, e.g. 2021")
        imp.add_argument("--title", default="")

        diff = sub.add_parser("diff", help="what a version changes against the version in force")
        common(diff, version=False)
        diff.add_argument("--version", dest="label", required=True)
        diff.add_argument("--against", help="label of the version to compare with")

        pub = sub.add_parser("publish", help="put a draft in force from a date")
        common(pub, version=False)
        pub.add_argument("--version", dest="label", required=True)
        pub.add_argument("--effective-from", required=True, help="YYYY-MM-DD")

        exp = sub.add_parser("export", help="the catalog in force as an Excel workbook")
        common(exp)
        exp.add_argument("--output", "-o", help="file to write (default catalog-STREAM-VERSION.xlsx)")

        load = sub.add_parser("load", help="load the bundled catalogs into the zone (skips streams it has)")
        load.add_argument("--stream", choices=rules.STREAMS, action="append")
        self.add_zone_argument(load)
        self.add_format_argument(load)

        check = sub.add_parser("check", help="whether a code may be used for a record of a date")
        check.add_argument("code")
        check.add_argument("--stream", choices=rules.STREAMS)
        check.add_argument("--date", help="record date (default today)")
        self.add_zone_argument(check)
        self.add_format_argument(check)

    def _version(self, zone_id: int, stream: str, label: str | None) -> CatalogVersion | None:
        if not label:
            return None
        version = CatalogVersion.objects.filter(zone_id=zone_id, stream=stream, label=label).first()
        if version is None:
            raise CommandError(f"no {stream} version {label!r}")
        return version

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.system_actor(options)
        action = options["action"]
        getattr(self, f"do_{action}")(actor, options)

    def do_list(self, actor: Any, options: dict[str, Any]) -> None:
        stream = options.get("stream")
        version = self._version(actor.zone_id, stream, options.get("label")) if stream else None
        if options.get("label") and not stream:
            raise CommandError("--version needs --stream")
        result = services.search(
            actor.zone_id,
            options.get("query") or "",
            stream=stream,
            category=options.get("category"),
            hazard=options.get("hazard"),
            version_id=version.pk if version else None,
            on_date=_date(options["date"]) if options.get("date") else None,
            limit=100000,
            actor=actor,
        )
        rows = [services.entry_as_dict(e) for e in result.entries]
        self.emit(
            options,
            rows,
            "\n".join(
                f"{r['code']:<12} {r['category']:<6} {r['name'] or '(name missing)'}"
                + (f"  [{r['hazard']['raw']}]" if "hazard" in r else "")
                for r in rows
            ),
        )

    def do_show(self, actor: Any, options: dict[str, Any]) -> None:
        code = options["code"]
        stream = options.get("stream") or rules.guess_stream(code)
        if stream is None:
            raise CommandError("give --stream for this code")
        version = self._version(actor.zone_id, stream, options.get("label"))
        detail = services.entry_detail(
            actor.zone_id, stream, code, version_id=version.pk if version else None, actor=actor
        )
        data = services.entry_as_dict(detail.entry)
        data["versions"] = [
            {"version": e.version.label, "effective_from": e.version.effective_from, "name": e.name}
            for e in detail.occurrences
        ]
        data["mappings"] = [
            {
                "from_version": m.from_version.label,
                "from_code": m.from_code,
                "to_version": m.to_version.label,
                "to_code": m.to_code,
                "kind": m.kind,
            }
            for m in detail.mappings
        ]
        text = "\n".join(f"{k}: {v}" for k, v in data.items())
        self.emit(options, data, text)

    def do_import(self, actor: Any, options: dict[str, Any]) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        result = services.import_version(
            actor,
            stream=options["stream"],
            label=options["label"],
            content=path.read_bytes(),
            filename=path.name,
            title=options["title"],
        )
        data = {
            "version_id": result.version.pk,
            "version": result.version.label,
            "status": result.version.status,
            "entries": result.entries,
            "categories": result.categories,
            "warnings": result.warnings,
            "diff": result.diff.as_dict() if result.diff else None,
        }
        lines = [
            f"imported {result.entries} entries in {result.categories} categories as draft "
            f"{options['stream']} {result.version.label}"
        ]
        lines += [f"warning: {w['message']}" for w in result.warnings]
        if result.diff:
            lines.append(_diff_text(result.diff))
        self.emit(options, data, "\n".join(lines))

    def do_diff(self, actor: Any, options: dict[str, Any]) -> None:
        version = self._version(actor.zone_id, options["stream"], options["label"])
        assert version is not None
        against = self._version(actor.zone_id, options["stream"], options.get("against"))
        _v, base, diff = services.diff_version(
            actor.zone_id, version.pk, against_id=against.pk if against else None, actor=actor
        )
        data = {"version": version.label, "against": base.label if base else None, **diff.as_dict()}
        self.emit(
            options,
            data,
            f"{version.label} against {base.label if base else '(nothing)'}\n{_diff_text(diff)}",
        )

    def do_publish(self, actor: Any, options: dict[str, Any]) -> None:
        version = self._version(actor.zone_id, options["stream"], options["label"])
        assert version is not None
        published = services.publish(actor, version.pk, _date(options["effective_from"]))
        data = {
            "version_id": published.pk,
            "version": published.label,
            "status": published.status,
            "effective_from": published.effective_from,
        }
        self.emit(
            options, data, f"published {published.stream} {published.label} from {published.effective_from}"
        )

    def do_export(self, actor: Any, options: dict[str, Any]) -> None:
        version = self._version(actor.zone_id, options["stream"], options.get("label"))
        filename, content = services.export_xlsx(
            actor.zone_id, options["stream"], version_id=version.pk if version else None, actor=actor
        )
        out = Path(options.get("output") or filename)
        out.write_bytes(content)
        self.emit(options, {"file": str(out), "bytes": len(content)}, f"wrote {out}")

    def do_load(self, actor: Any, options: dict[str, Any]) -> None:
        results = services.load_standard_catalogs(actor, options.get("stream"))
        data: list[dict[str, Any]] = [
            {
                "stream": r.version.stream,
                "version": r.version.label,
                "entries": r.entries,
                "categories": r.categories,
                "warnings": r.warnings,
            }
            for r in results
        ]
        self.emit(
            options,
            data,
            "\n".join(
                f"loaded {d['stream']} {d['version']}: {d['entries']} entries, "
                f"{len(d['warnings'])} warning(s)"
                for d in data
            )
            or "every bundled catalog is already loaded",
        )

    def do_check(self, actor: Any, options: dict[str, Any]) -> None:
        code = options["code"]
        stream = options.get("stream") or rules.guess_stream(code)
        if stream is None:
            raise CommandError("give --stream for this code")
        on_date = _date(options["date"]) if options.get("date") else date.today()
        check = services.code_valid(actor.zone_id, stream, code, on_date)
        self.emit(
            options,
            check.as_dict(),
            f"{code}: ok ({check.version.label if check.version else ''})"
            if check.ok
            else f"{code}: refused: {check.message}",
        )
        if not check.ok:
            raise SystemExit(1)


def _diff_text(diff: rules.CatalogDiff) -> str:
    lines = [f"+ {e.code} {e.name}" for e in diff.added]
    lines += [f"- {e.code} {e.name}" for e in diff.retired]
    lines += [f"~ {o.code} {o.name} -> {n.name}" for o, n in diff.renamed]
    lines += [f"> {o.code} -> {n.code} {n.name}" for o, n in diff.recoded]
    lines += [f"# {o.code} {o.category} -> {n.category}" for o, n in diff.recategorised]
    lines.append(
        f"({len(diff.added)} added, {len(diff.retired)} retired, {len(diff.renamed)} renamed, "
        f"{len(diff.recoded)} re-coded, {len(diff.recategorised)} moved, {diff.unchanged} unchanged)"
    )
    return "\n".join(lines)
