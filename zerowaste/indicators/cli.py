"""`zerowaste indicators inputs|compute|evaluate|enter|load-set`: the indicator system from the command line.

- `inputs`: every input key of the zone's set with unit, meaning, department and how it is obtained.
- `compute --year Y [--inputs FILE.json] --format json|text|xlsx|pdf [--output PATH]`: the table.
- `evaluate --year Y [--inputs FILE.json]`: met / not met per class with the reasons, and the notes
  where the published claims disagree with the figures.
- `enter --year Y KEY VALUE --source TEXT [--evidence FILE]`: a department's value (as the system).
- `load-set FILE [--no-activate]` / `load-set --bundled`: switch the zone to another set.
- `judge --year Y NUMBER --met|--not-met --reason TEXT [--user USERNAME]`: a regulator's judgment of an
  indicator whose direction is a reasonable level (15, 19); as the system unless `--user` names one.
`--zone` defaults to the only zone.
"""

from __future__ import annotations

import mimetypes
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.authz import Actor, actor_for_user
from zerowaste.core.cli import PlatformCommand
from zerowaste.core.models import User

from . import exports, rules, services


class IndicatorsCommand(PlatformCommand):
    help = "Zero-Waste indicators (指标体系): input keys, compute and evaluate a zone-year, enter inputs."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        inputs = sub.add_parser("inputs", help="every input key with unit and meaning")
        self.add_format_argument(inputs)
        self.add_zone_argument(inputs)
        compute = sub.add_parser("compute", help="the indicator table of a zone-year")
        compute.add_argument("--format", choices=["text", "json", "xlsx", "pdf"], default="text")
        compute.add_argument(
            "--output", help="file for xlsx/pdf (default: indicators-<zone>-<year>.<format>)"
        )
        evaluate = sub.add_parser("evaluate", help="met / not met per class, with the reasons")
        self.add_format_argument(evaluate)
        for p in (compute, evaluate):
            self.add_zone_argument(p)
            p.add_argument("--year", type=int, required=True)
            p.add_argument("--inputs", help="JSON file {input key: decimal string or ordinal word}")
        enter = sub.add_parser("enter", help="enter a department's value of an input")
        enter.add_argument("key")
        enter.add_argument("value", help="decimal string or ordinal word; empty string withdraws")
        enter.add_argument("--year", type=int, required=True)
        enter.add_argument("--source", required=True)
        enter.add_argument("--department", default="")
        enter.add_argument("--evidence", help="file kept as the evidence")
        self.add_format_argument(enter)
        self.add_zone_argument(enter)
        judge = sub.add_parser("judge", help="record a judgment of a reasonable-level indicator")
        judge.add_argument("number", help="the indicator's number, e.g. 15")
        judge.add_argument("--year", type=int, required=True)
        verdict = judge.add_mutually_exclusive_group(required=True)
        verdict.add_argument("--met", dest="met", action="store_true", default=None)
        verdict.add_argument("--not-met", dest="met", action="store_false")
        judge.add_argument("--reason", required=True, help="why the level is (not) reasonable")
        judge.add_argument("--user", help="the regulator's username (default: the system)")
        self.add_format_argument(judge)
        self.add_zone_argument(judge)
        load = sub.add_parser("load-set", help="load another indicator set (TOML) for the zone")
        load.add_argument("path", nargs="?")
        load.add_argument("--bundled", action="store_true", help="go back to the bundled set")
        load.add_argument("--no-activate", action="store_true")
        self.add_format_argument(load)
        self.add_zone_argument(load)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.system_actor(options)
        action = options["action"]
        if action == "inputs":
            rows = services.inputs_catalog(actor.zone_id)
            self.emit(
                options,
                rows,
                "\n".join(f"{r['key']:<34} {r['unit']:<20} {r['obtained']:<13} {r['name']}" for r in rows),
            )
            return
        if action == "enter":
            self._enter(actor, options)
            return
        if action == "load-set":
            self._load(actor, options)
            return
        if action == "judge":
            self._judge(actor, options)
            return
        overrides = None
        if options.get("inputs"):
            overrides = services.read_overrides_file(services.active_set(actor.zone_id), options["inputs"])
        evaluation = services.evaluate(actor, year=options["year"], overrides=overrides)
        if action == "compute":
            self._compute(evaluation, options)
        else:
            self._evaluate(evaluation, options)

    def _compute(self, evaluation: services.Evaluation, options: dict[str, Any]) -> None:
        fmt = options["format"]
        if fmt in ("xlsx", "pdf"):
            content = exports.to_xlsx(evaluation) if fmt == "xlsx" else exports.to_pdf(evaluation)
            zone = self.zone(options)
            path = Path(options.get("output") or f"indicators-{zone.code}-{evaluation.year}.{fmt}")
            try:
                path.write_bytes(content)
            except OSError as exc:
                raise CommandError(f"cannot write {path}: {exc.strerror}") from None
            self.stdout.write(str(path))
            return
        rows = services.rows_of(evaluation)
        met = {"met": "met", "not_met": "NOT MET", "needs_judgment": "needs judgment", "unknown": "unknown"}
        self.emit(
            options,
            rows,
            "\n".join(
                f"{r['number']:>3} {'★' if r['class'] == 'required' else ' '} {r['name'][:28]:<28} "
                f"{r['achieved'] or '—':>10} {r['unit']:<8} "
                f"target {r['target_text'] or r['target'] or '—':<10} "
                f"{met[r['state']]}" + (f" (rounding: {r['rounding_note']})" if r["rounding_note"] else "")
                for r in rows
            ),
        )

    def _evaluate(self, evaluation: services.Evaluation, options: dict[str, Any]) -> None:
        summary = services.summary_json(evaluation.summary)
        data = {
            "year": evaluation.year,
            "set": {"code": evaluation.indicator_set.code, "version": evaluation.indicator_set.version},
            **summary,
            "unknown_list": [
                {"number": r.indicator.number, "name": r.indicator.name, "reason": r.reason}
                for r in evaluation.results
                if r.state == "unknown"
            ],
            "notes": evaluation.notes,
        }
        lines = [
            f"{evaluation.year}: {summary['met']} of {summary['total']} met, {summary['not_met']} not met, "
            f"{summary['needs_judgment']} need judgment, {summary['unknown']} unknown; "
            f"completion {summary['completion'] or '—'} (met ÷ evaluated)"
        ]
        for cls in rules.CLASSES:
            b = summary["by_class"][cls]
            lines.append(
                f"  {cls:<9} {b['met']:>2} of {b['total']:>2} met, "
                f"{b['not_met']} not met, {b['needs_judgment']} need judgment, {b['unknown']} unknown"
            )
        lines += [f"NOT MET {m['number']:>3} {m['name']}: {m['reason']}" for m in summary["not_met_list"]]
        lines += [
            f"JUDGE   {m['number']:>3} {m['name']}: {m['reason']}" for m in summary["needs_judgment_list"]
        ]
        lines += [f"unknown {m['number']:>3} {m['name']}: {m['reason']}" for m in data["unknown_list"]]
        lines += [f"ROUNDING {m['number']:>2} {m['name']}: {m['note']}" for m in summary["rounding_list"]]
        lines += [f"note: {n}" for n in evaluation.notes]
        self.emit(options, data, "\n".join(lines))

    def _enter(self, actor: Any, options: dict[str, Any]) -> None:
        evidence = None
        name = ""
        if options.get("evidence"):
            path = Path(options["evidence"])
            try:
                evidence = path.read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from None
            name = path.name
        entry = services.enter_input(
            actor,
            year=options["year"],
            key=options["key"],
            value=options["value"],
            source=options["source"],
            department=options.get("department") or "",
            evidence_name=name,
            evidence=evidence,
            evidence_type=mimetypes.guess_type(name)[0] or "" if name else "",
        )
        data = {
            "id": entry.pk,
            "year": entry.year,
            "key": entry.key,
            "value": entry.value,
            "source": entry.source,
        }
        self.emit(options, data, f"entered {entry.key} = {entry.value or '(withdrawn)'} for {entry.year}")

    def _judge(self, actor: Actor, options: dict[str, Any]) -> None:
        if options.get("user"):
            user = User.objects.filter(username=options["user"]).first()
            as_actor = actor_for_user(user) if user is not None else None
            if as_actor is None or as_actor.zone_id != actor.zone_id:
                raise CommandError(f"user {options['user']!r}: no such member in this zone")
            actor = as_actor
        row = services.record_judgment(
            actor,
            year=options["year"],
            number=options["number"],
            met=options["met"],
            reason=options["reason"],
        )
        data = services.judgment_dict(row)
        verdict = "met" if row.met else "not met"
        self.emit(options, data, f"judged indicator {row.number} {verdict} for {row.year}: {row.reason}")

    def _load(self, actor: Any, options: dict[str, Any]) -> None:
        if options.get("bundled"):
            services.activate_set(actor, None)
            self.emit(options, {"active": "bundled"}, "the zone uses the bundled set again")
            return
        if not options.get("path"):
            raise CommandError("name the set file, or --bundled")
        try:
            text = Path(options["path"]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {options['path']}: {exc}") from None
        row = services.load_set(actor, text=text, activate=not options.get("no_activate"))
        data = {"id": row.pk, "code": row.code, "version": row.version, "active": row.is_active}
        self.emit(options, data, f"loaded {row.code} {row.version}" + (" (active)" if row.is_active else ""))
