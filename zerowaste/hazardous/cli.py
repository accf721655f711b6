"""`zerowaste hazardous tiers|storage|plans|summary|rates|ledger|declaration-report|facility|in-house-check`:
the pilot's registers, the national declaration reports and the in-plant facilities from the command
line."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from zerowaste.core.authz import Actor
from zerowaste.core.cli import PlatformCommand

from . import services
from .models import Store


def _date(text: str | None) -> date:
    if not text:
        return timezone.localdate()
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--on: not a date (YYYY-MM-DD): {text}") from exc


class HazardousCommand(PlatformCommand):
    help = "Hazardous-waste pilot: tiers, storage alerts, plans due, monthly summary, ledger, pass rates."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        tiers = sub.add_parser(
            "tiers", help="producer tiers A/B/C of a year (from the year before's declarations)"
        )
        tiers.add_argument("--year", type=int, default=None, help="tier year (default: this year)")
        tiers.add_argument("--park", help="park code (default: every pilot park)")
        tiers.add_argument("--recompute", action="store_true", help="recompute from the declarations first")
        tiers.add_argument(
            "--january",
            action="store_true",
            help="the yearly January recomputation as a background task (this year's tiers, if none yet; "
            "the cron line)",
        )
        storage = sub.add_parser("storage", help="containers at a warning age or past their deadline")
        storage.add_argument("--overdue", action="store_true", help="only those past their deadline")
        storage.add_argument("--on", help="as of this date (default: today)")
        plans = sub.add_parser("plans", help="plans filed, or with --due the plans due and missing")
        plans.add_argument("--due", action="store_true", help="plans due within --days or overdue")
        plans.add_argument("--on", help="as of this date (default: today)")
        plans.add_argument("--days", type=int, default=30, help="horizon in days (default 30)")
        summary = sub.add_parser("summary", help="a store's monthly summary, reconciled to the kilogram")
        summary.add_argument("--store", help="store code (default: the only store)")
        summary.add_argument("--year", type=int, required=True)
        summary.add_argument("--month", type=int, required=True)
        rates = sub.add_parser("rates", help="standardized-management pass rates of a year (indicator 31)")
        rates.add_argument("--year", type=int, required=True)
        ledger = sub.add_parser(
            "ledger", help="a store's ledger of a year as HJ 1259 table B.2 (in) or B.3 (out)"
        )
        ledger.add_argument("--store", help="store code (default: the only store)")
        ledger.add_argument("--year", type=int, required=True)
        ledger.add_argument("--kind", choices=["in", "out"], default="in")
        ledger.add_argument("--output", required=True, help="a .xlsx or .csv file to write")
        for p in (tiers, storage, plans, summary, rates, ledger):
            self.add_format_argument(p)
            self.add_zone_argument(p)
        report = sub.add_parser(
            "declaration-report",
            help="an organization's HJ 1259 declaration report: C.1 (month), C.2 (quarter) or C.3 (year)",
        )
        report.add_argument("--organization", required=True, help="organization id or USCC")
        report.add_argument("--period", required=True, help="2020-06 (C.1), 2020Q2 (C.2) or 2020 (C.3)")
        report.add_argument(
            "--format",
            choices=["text", "json", "xlsx"],
            default=None,
            help="text (default), json, or xlsx (needs --output); default from the --output suffix",
        )
        report.add_argument("--output", help="a .xlsx or .json file to write instead of printing")
        self.add_zone_argument(report)
        facility = sub.add_parser(
            "facility", help="in-plant and group-shared utilization/disposal facilities (seed:3925-3935)"
        )
        fsub = facility.add_subparsers(dest="facility_action", required=True)
        add = fsub.add_parser("add", help="register a facility (EIA approval and HW operating licence)")
        add.add_argument("--operator", required=True, help="the organization hosting it (id or USCC)")
        add.add_argument("--site", required=True, type=int, help="the operator's site id")
        add.add_argument("--mode", required=True, choices=["own_plant", "group_shared"])
        add.add_argument("--activity", required=True, choices=["utilization", "disposal"])
        add.add_argument("--method", required=True, help="e.g. 焚烧, 溶剂回收")
        add.add_argument("--codes", required=True, help="HW codes or categories, comma-separated")
        add.add_argument("--eia-number", default="", help="EIA approval number (环评批复文号)")
        add.add_argument("--eia-date", default="", help="EIA approval date (YYYY-MM-DD)")
        add.add_argument("--licence", required=True, type=int, help="the operator's HW operating licence id")
        add.add_argument("--shared-with", default="", help="group_shared: subsidiaries' ids or USCCs")
        flist = fsub.add_parser("list", help="registered facilities")
        close = fsub.add_parser("close", help="close a facility")
        close.add_argument("id", type=int)
        close.add_argument("--on", help="closed on (default: today)")
        check = sub.add_parser(
            "in-house-check", help="declared in-house utilization/disposal without a registered facility"
        )
        check.add_argument("--year", type=int, required=True)
        for p in (add, flist, close, check):
            self.add_format_argument(p)
            self.add_zone_argument(p)

    def handle(self, *args: Any, **options: Any) -> None:
        actor: Actor = self.system_actor(options)
        getattr(self, f"do_{options['action'].replace('-', '_')}")(actor, options)

    def do_tiers(self, actor: Actor, options: dict[str, Any]) -> None:
        year = options.get("year") or timezone.localdate().year
        park_id = None
        if options.get("park"):
            store = Store.objects.filter(zone_id=actor.zone_id, park__code=options["park"]).first()
            if store is None:
                raise CommandError(f"no pilot park {options['park']!r}")
            park_id = store.park_id
        if options.get("january"):
            from .tasks import january_tiers_task

            result = january_tiers_task.enqueue(actor.zone_id)
            if result.is_finished and result.return_value is not None:
                written = result.return_value["written"]
                self.emit(options, result.return_value, f"January tiers: {written} written")
            else:
                self.emit(options, {"task_id": result.id}, f"January tiers queued as task {result.id}")
            return
        if options.get("recompute"):
            services.compute_tiers(actor, year, park_id=park_id)
        rows = services.tiers(actor, year, park_id=park_id)
        if not rows:
            self.stderr.write(
                f"no tiers computed for {year} yet: `zerowaste hazardous tiers --year {year} --recompute`"
            )
        data = [{k: r[k] for k in ("producer", "park", "generated_t", "max_stock_t", "tier")} for r in rows]
        counts = {t: sum(1 for r in rows if r["tier"] == t) for t in "ABC"}
        text = "\n".join(
            f"{r['tier']}  {r['generated_t']:>10} t  max {r['max_stock_t']:>8} t  "
            f"{r['producer']} ({r['park']})"
            for r in rows
        )
        self.emit(
            options,
            data,
            (text + "\n" if text else "") + f"A {counts['A']} · B {counts['B']} · C {counts['C']}",
        )

    def do_storage(self, actor: Actor, options: dict[str, Any]) -> None:
        on = _date(options.get("on"))
        rows = services.storage_alerts(actor.zone_id, on, actor)
        if options.get("overdue"):
            rows = [r for r in rows if r["level"] == "overdue"]
        self.emit(
            options,
            rows,
            "\n".join(
                f"{r['container']:<16} {r['level']:<8} {r['code']:<11} stored {r['stored_on']} "
                f"({r['age_days']} d) deadline {r['deadline']} {r['quantity_t']} t  {r['park']}"
                for r in rows
            )
            or "no container at a warning age or overdue",
        )

    def do_plans(self, actor: Actor, options: dict[str, Any]) -> None:
        on = _date(options.get("on"))
        if options.get("due"):
            rows = services.plans_due(actor, on, horizon_days=options["days"])
            self.emit(
                options,
                rows,
                "\n".join(
                    f"{r['kind']:<16} {r['period']:<7} due {r['due']} "
                    f"{'OVERDUE' if r['overdue'] else str(r['days_left']) + ' days'}  {r['organization']}"
                    for r in rows
                )
                or "no plan due",
            )
            return
        plans = services.list_plans(actor, year=on.year)
        data = {
            "management": [
                {
                    "organization": p.organization.name,
                    "year": p.year,
                    "version": p.version,
                    "class": p.management_class,
                }
                for p in plans["management"]
            ],
            "transfer": [
                {
                    "organization": p.organization.name,
                    "year": p.year,
                    "quarter": p.quarter,
                    "due": p.due_on,
                    "late": p.late,
                }
                for p in plans["transfer"]
            ],
        }
        self.emit(options, data)

    def _store(self, actor: Actor, options: dict[str, Any]) -> Store:
        stores = Store.objects.filter(zone_id=actor.zone_id)
        if options.get("store"):
            stores = stores.filter(code=options["store"])
        found = list(stores[:2])
        if not found:
            raise CommandError("no such store")
        if len(found) > 1:
            raise CommandError("several stores: name one with --store")
        return found[0]

    def do_ledger(self, actor: Actor, options: dict[str, Any]) -> None:
        from pathlib import Path

        from .api import _ledger_response

        path = Path(options["output"])
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in ("xlsx", "csv"):
            raise CommandError("--output must end in .xlsx or .csv")
        table = services.ledger_rows(actor, self._store(actor, options).pk, options["year"], options["kind"])
        path.write_bytes(_ledger_response(table, options["kind"], options["year"], fmt).content)
        self.emit(
            options, {"path": str(path), "rows": len(table[1])}, f"{len(table[1])} rows written to {path}"
        )

    def do_summary(self, actor: Actor, options: dict[str, Any]) -> None:
        s = services.monthly_summary(actor, self._store(actor, options).pk, options["year"], options["month"])
        self.emit(
            options,
            s,
            f"{s['store']} {s['year']}-{s['month']:02d}: opening {s['opening_kg']} kg "
            f"+ collected {s['collected_kg']} kg - shipped {s['shipped_kg']} kg "
            f"= closing {s['closing_kg']} kg; manifests {s['manifest_kg']} kg; "
            f"{'reconciled' if s['balanced'] and s['manifests_reconciled'] else 'NOT reconciled'}",
        )

    def do_rates(self, actor: Actor, options: dict[str, Any]) -> None:
        r = services.pass_rates(actor, options["year"])
        self.emit(
            options,
            r,
            "\n".join(
                f"{k:<9} passed {v['passed']} basically {v['basically_passed']} failed {v['failed']} "
                f"of {v['total']}: {v['rate_percent'] or '-'} %"
                for k, v in r.items()
                if k != "year"
            ),
        )

    def do_declaration_report(self, actor: Actor, options: dict[str, Any]) -> None:
        from pathlib import Path

        from zerowaste.core.models import Organization

        from . import declaration_reports

        output = Path(options["output"]) if options.get("output") else None
        fmt = options.get("format") or (output.suffix.lstrip(".").lower() if output else "text")
        if fmt not in ("text", "json", "xlsx"):
            raise CommandError("--output must end in .xlsx or .json, or give --format")
        if fmt == "xlsx" and output is None:
            raise CommandError("--format xlsx needs --output FILE")
        organization: str = options["organization"].strip()
        if len(organization) == 18:  # a USCC names the organization as the declarations CLI does
            found = Organization.objects.filter(zone_id=actor.zone_id, uscc=organization.upper()).first()
            organization = str(found.pk) if found else organization
        report = declaration_reports.build_report(
            actor, organization_id=organization, period=options["period"]
        )
        if output is not None:
            if fmt == "xlsx":
                output.write_bytes(declaration_reports.to_xlsx(report))
            else:
                output.write_text(
                    json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
                )
            self.stdout.write(
                f"{report.table} {report.period.label}: {len(report.rows)} rows written to {output}"
            )
            return
        self.emit({"format": fmt}, report.as_dict(), _report_text(report))

    # --- In-plant and group facilities (seed:3925-3935) ---------------------------------------------

    def do_facility(self, actor: Actor, options: dict[str, Any]) -> None:
        from . import facilities

        action = options["facility_action"]
        if action == "add":
            operator = self._organization_id(actor, options["operator"])
            f = facilities.register_facility(
                actor,
                data={
                    "operator_id": operator,
                    "site_id": options["site"],
                    "mode": options["mode"],
                    "activity": options["activity"],
                    "method": options["method"],
                    "waste_codes": options["codes"],
                    "eia_approval_number": options["eia_number"],
                    "eia_approval_date": options["eia_date"],
                    "licence_id": options["licence"],
                    "shared_with": options["shared_with"],
                },
            )
            self.emit(options, _facility_dict(f), f"facility {f.pk} registered: {_facility_text(f)}")
        elif action == "close":
            f = facilities.close_facility(actor, options["id"], data={"closed_on": options.get("on")})
            self.emit(options, _facility_dict(f), f"facility {f.pk} closed on {f.closed_on}")
        else:
            rows = list(facilities.list_facilities(actor))
            self.emit(
                options,
                [_facility_dict(f) for f in rows],
                "\n".join(f"{f.pk:>5}  {_facility_text(f)}" for f in rows) or "no facility registered",
            )

    def do_in_house_check(self, actor: Actor, options: dict[str, Any]) -> None:
        from . import facilities

        rows = facilities.unregistered_in_house_treatment(actor, options["year"])
        self.emit(
            options,
            rows,
            "\n".join(
                f"{r['organization']}  {r['period']}  {r['code']}  utilized {r['utilized_t']} t  "
                f"disposed {r['disposed_t']} t  no facility for {', '.join(r['missing'])}"
                for r in rows
            )
            or f"{options['year']}: all declared in-house treatment has a registered facility",
        )

    @staticmethod
    def _organization_id(actor: Actor, value: str) -> str:
        from zerowaste.core.models import Organization

        value = value.strip()
        if len(value) == 18:  # a USCC names the organization as the declarations CLI does
            found = Organization.objects.filter(zone_id=actor.zone_id, uscc=value.upper()).first()
            if found is None:
                raise CommandError(f"--operator: no organization with USCC {value}")
            return str(found.pk)
        return value


def _report_text(report: Any) -> str:
    """The report for people: the rows' figures, the differences with the manifests, the due tables."""
    lines = [f"{report.title} · {report.organization.name}"]
    for row in report.rows:
        cells = row.as_dict(report.columns)
        lines.append(
            f"{cells['code']:<11} generated {cells['generated_t'] or '-':>10}  "
            f"own {cells['own_t'] or '-':>9}  "
            f"out {cells['entrusted_t'] or '-':>9} {cells['consignee'] or ''}  "
            f"stock {cells['opening_t'] or '-'} -> {cells['closing_t'] or '-'}"
        )
    for diff in report.differences:
        lines.append(
            f"DIFFERENCE {diff.waste_code}: declared {diff.declared_t} t, manifests {diff.manifests_t} t"
        )
    due = report.due
    lines.append(
        f"class {due.management_class or 'unknown'}: due {', '.join(due.tables) or '-'}; "
        f"{report.table} {report.period.label} due by {due.deadline.isoformat()}"
        + ("" if due.table_is_due or not due.management_class else " (not a table this organization files)")
    )
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)


def _facility_dict(f: Any) -> dict[str, Any]:
    return {
        "id": f.pk,
        "operator_id": f.operator_id,
        "operator": f.operator.name,
        "site_id": f.site_id,
        "site": f.site.name,
        "mode": f.mode,
        "activity": f.activity,
        "method": f.method,
        "waste_codes": list(f.waste_codes),
        "eia_approval_number": f.eia_approval_number,
        "eia_approval_date": f.eia_approval_date,
        "licence_id": f.licence_id,
        "licence_number": f.licence.number,
        "licence_valid_to": f.licence.valid_to,
        "shared_with": [{"id": o.pk, "name": o.name} for o in f.shared_with.all()],
        "status": f.status,
        "closed_on": f.closed_on,
    }


def _facility_text(f: Any) -> str:
    shared = "、".join(o.name for o in f.shared_with.all())
    return (
        f"{f.operator.name} / {f.site.name}: {f.mode} {f.activity} {f.method} "
        f"[{', '.join(f.waste_codes)}] EIA {f.eia_approval_number} ({f.eia_approval_date}) "
        f"licence {f.licence.number} to {f.licence.valid_to}"
        + (f" shared with {shared}" if shared else "")
        + (f" CLOSED {f.closed_on}" if f.status == "closed" else "")
    )
