"""Declaration use cases: fill, import, submit, review, amend, reconcile, count.

Every function takes an `Actor`, checks access through `rules.ACCESS` and `core.authz`, runs in a
transaction, locks the declaration it changes and audits every change. Quantities are `Decimal`
tonnes throughout.

Public services for other apps:
- `register_transfer_provider(fn)`: the transfers app registers `fn(zone_id, organization_id,
  period_start, period_end) -> {waste_code: Decimal tonnes}` of its closed transfers; `reconcile()`
  compares them with the declared transferred-out quantities.
- `effective_lines(zone_id)`: the declaration lines that count in statistics (for indicators).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Max, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from zerowaste.core import audit, periods, tabular
from zerowaste.core.authz import Actor, visible_organizations
from zerowaste.core.errors import Conflict, Forbidden, Invalid, NotFound
from zerowaste.core.models import Organization, Zone
from zerowaste.core.services import check_text
from zerowaste.core.tabular import Fault, ImportRejected, Row, read_table, write_xlsx

from . import fastimport, rules
from .checking import IMPORT_COLUMNS, TEMPLATE_HEADERS, CheckResult, Group, LineChecker
from .models import Declaration, DeclarationLine, ImportJob, ProductionData

BACKGROUND_ROWS = 10_000
# Uploads of more rows than this are checked by a background task (a request only opens them).
CHECK_BACKGROUND_ROWS = 20_000
Status = rules.Status


# --- Access ----------------------------------------------------------------------------------------


def may(actor: Actor, access: str) -> bool:
    return rules.may(
        access,
        member_role=actor.member_role,
        org_roles=actor.org_roles,
        token_scopes=actor.token_scopes,
        is_system=actor.is_system,
    )


def _require(actor: Actor, access: str) -> None:
    if not may(actor, access):
        raise Forbidden(_("your role does not allow this (declarations.%(a)s)") % {"a": access})


def _declaring_org(actor: Actor, organization_id: int | None = None) -> Organization:
    """The organization the actor declares for: its own (a producer), or any producer for the system."""
    if actor.is_system:
        if organization_id is None:
            raise Invalid.field("organization_id", _("name the organization"))
        org = Organization.objects.filter(zone_id=actor.zone_id, pk=organization_id).first()
        if org is None:
            raise NotFound(_("organization %(id)s not found") % {"id": organization_id})
        return org
    if organization_id is not None and organization_id != actor.organization_id:
        if visible_organizations(actor).filter(pk=organization_id).exists():
            raise Forbidden(_("only the organization itself declares its waste"))
        raise NotFound(_("organization %(id)s not found") % {"id": organization_id})
    _require(actor, "declare")
    assert actor.organization is not None
    return actor.organization


def visible_declarations(actor: Actor) -> QuerySet[Declaration]:
    """A producer sees all of its own; a regulator sees what was submitted in its jurisdiction."""
    qs = Declaration.objects.filter(zone_id=actor.zone_id)
    if actor.is_system:
        return qs
    if not may(actor, "view"):
        return qs.none()
    if actor.is_regulator:
        orgs = visible_organizations(actor).values("pk")
        return qs.filter(
            Q(organization_id__in=orgs) & ~Q(status=Status.DRAFT)
            | Q(organization_id=actor.organization_id or 0)
        )
    return qs.filter(organization_id=actor.organization_id or 0)


def get_declaration(actor: Actor, declaration_id: int) -> Declaration:
    decl = visible_declarations(actor).select_related("organization").filter(pk=declaration_id).first()
    if decl is None:
        raise NotFound(_("declaration %(id)s not found") % {"id": declaration_id})
    return decl


def _locked(actor: Actor, declaration_id: int) -> Declaration:
    get_declaration(actor, declaration_id)
    return Declaration.objects.select_for_update().select_related("organization").get(pk=declaration_id)


def _party(actor: Actor, decl: Declaration, action: str) -> str:
    """Which party the actor is for this declaration and action; Forbidden if neither may act."""
    access = rules.ACTION_ACCESS[action]
    if actor.is_system:
        return rules.TRANSITIONS.get((decl.status, action), rules.Transition("", rules.PRODUCER)).party
    if access == "declare":
        if decl.organization_id != actor.organization_id:
            raise Forbidden(_("only the declaring organization may do this"))
        _require(actor, "declare")
        return rules.PRODUCER
    _require(actor, "review")
    return rules.REGULATOR


def _apply(actor: Actor, decl: Declaration, action: str) -> str:
    party = _party(actor, decl, action)
    try:
        return rules.transition(decl.status, action, party)
    except PermissionError as exc:
        raise Forbidden(str(exc)) from exc
    except ValueError as exc:
        raise Conflict(str(exc)) from exc


# --- Lines from forms and the API -----------------------------------------------------------------


def _line_rows(lines: Iterable[Mapping[str, Any]]) -> list[Row]:
    rows = []
    for i, line in enumerate(lines):
        values = {
            k: line.get(k)
            for k in ("site", "waste_code", "waste_name", "unit", "destination", *rules.QTY_FIELDS)
        }
        values = {k: (v if not isinstance(v, str) else (v.strip() or None)) for k, v in values.items()}
        rows.append(Row("lines", i, values, {}))
    return rows


def _invalid(faults: list[Fault]) -> Invalid:
    errors = [
        {
            "field": f"lines[{f.row}].{f.field}" if f.sheet == "lines" else f.field,
            "message": f.message,
            "row": f.row,
            "column": f.field,
            **({"rule": f.rule} if f.rule else {}),
        }
        for f in faults
    ]
    first = errors[0]
    return Invalid(f"{first['field']}: {first['message']}", errors=errors)


def _period_arg(period: str | date, period_kind: str | None = None) -> rules.Period:
    try:
        parsed = rules.parse_period(period)
    except ValueError as exc:
        raise Invalid.field("period", str(exc)) from exc
    if period_kind and period_kind != parsed.kind:
        raise Invalid.field("period_kind", _("%(p)s is a %(k)s") % {"p": parsed.label, "k": parsed.kind})
    return parsed


def _year_arg(year: int) -> int:
    if not rules.MIN_YEAR + 1 <= year <= rules.MAX_YEAR:
        raise Invalid.field(
            "year", _("a year between %(a)d and %(b)d") % {"a": rules.MIN_YEAR + 1, "b": rules.MAX_YEAR}
        )
    return year


def _stream_arg(stream: str) -> str:
    if stream not in rules.STREAMS:
        raise Invalid.field("stream", _("one of %(all)s") % {"all": ", ".join(rules.STREAMS)})
    return stream


def _snapshot_lines(decl: Declaration) -> dict[rules.LineKey, dict[str, Decimal]]:
    return {
        (ln.site.name if ln.site else "", ln.waste_code): {f: getattr(ln, f) for f in rules.QTY_FIELDS}
        for ln in decl.lines.select_related("site")
    }


def _line_models(zone_id: int, decl_id: int, group: Group) -> list[DeclarationLine]:
    return [
        DeclarationLine(
            zone_id=zone_id,
            declaration_id=decl_id,
            site_id=ln.site_id,
            waste_code=ln.waste_code,
            waste_name=ln.waste_name,
            category_code=ln.category_code,
            destination=ln.destination,
            position=ln.position,
            **ln.quantities,
        )
        for ln in group.lines
    ]


@transaction.atomic
def save_declaration(
    actor: Actor,
    *,
    stream: str,
    period: str | date,
    lines: Sequence[Mapping[str, Any]],
    organization_id: int | None = None,
    declaration_id: int | None = None,
    period_kind: str | None = None,
) -> Declaration:
    """Create a draft (or replace the lines of a draft / returned declaration) after checking every line."""
    editing: Declaration | None = None
    if declaration_id is not None:
        editing = _locked(actor, declaration_id)
        _apply(actor, editing, "edit")
        org = editing.organization
        stream, parsed = (
            editing.stream,
            rules.Period(editing.period_start, editing.period_end, editing.period_kind),
        )
    else:
        org = _declaring_org(actor, organization_id)
        stream = _stream_arg(stream)
        parsed = _period_arg(period, period_kind)
        latest = (
            Declaration.objects.filter(
                zone_id=actor.zone_id, organization=org, stream=stream, period_start=parsed.start
            )
            .order_by("-version")
            .first()
        )
        if latest is not None:
            if latest.status in rules.EDITABLE_STATES:
                return save_declaration(
                    actor, stream=stream, period=period, lines=lines, declaration_id=latest.pk
                )
            raise Conflict(
                _("the %(p)s declaration is %(s)s; amend it instead")
                % {"p": parsed.label, "s": Status(latest.status).label}
            )
    checker = LineChecker(actor.zone_id, organization=org)
    result = checker.check(_line_rows(lines), default_stream=stream, default_period=parsed, editing=editing)
    if result.faults:
        raise _invalid(result.faults)
    group = result.groups[0] if result.groups else Group(org.pk, stream, parsed)
    if editing is None:
        decl = Declaration.objects.create(
            zone_id=actor.zone_id,
            organization=org,
            stream=stream,
            period_kind=parsed.kind,
            period_start=parsed.start,
            period_end=parsed.end,
            created_by=actor.username,
        )
        DeclarationLine.objects.bulk_create(_line_models(actor.zone_id, decl.pk, group))
        audit.record(
            actor,
            "declaration.create",
            decl,
            {"stream": stream, "period": parsed.label, "lines": rules.diff_lines({}, _snapshot_lines(decl))},
        )
        return decl
    before = _snapshot_lines(editing)
    editing.lines.all().delete()
    DeclarationLine.objects.bulk_create(_line_models(actor.zone_id, editing.pk, group))
    editing.save(update_fields=["updated_at"])
    audit.record(
        actor, "declaration.edit", editing, {"lines": rules.diff_lines(before, _snapshot_lines(editing))}
    )
    return editing


def _recheck(actor: Actor, decl: Declaration) -> None:
    """A declaration about to be submitted is checked again: the previous period may have changed."""
    rows = []
    for ln in decl.lines.select_related("site").order_by("position", "pk"):
        values: dict[str, Any] = {f: getattr(ln, f) for f in rules.QTY_FIELDS}
        values.update(
            site=ln.site.name if ln.site else None,
            waste_code=ln.waste_code,
            waste_name=ln.waste_name,
            destination=ln.destination,
            unit="t",
        )
        rows.append(values)
    checker = LineChecker(decl.zone_id, organization=decl.organization)
    period = rules.Period(decl.period_start, decl.period_end, decl.period_kind)
    result = checker.check(_line_rows(rows), default_stream=decl.stream, default_period=period, editing=decl)
    if result.faults:
        raise _invalid(result.faults)


# --- Life cycle ------------------------------------------------------------------------------------


@transaction.atomic
def submit(actor: Actor, declaration_id: int) -> Declaration:
    decl = _locked(actor, declaration_id)
    new_state = _apply(actor, decl, "submit")
    _recheck(actor, decl)
    old = decl.status
    decl.status = new_state
    decl.submissions += 1
    decl.submitted_at = timezone.now()
    decl.save(update_fields=["status", "submissions", "submitted_at", "updated_at"])
    audit.record(
        actor,
        "declaration.resubmit" if old == Status.RETURNED else "declaration.submit",
        decl,
        {"status": [old, new_state]},
    )
    return decl


@transaction.atomic
def accept(actor: Actor, declaration_id: int) -> Declaration:
    decl = _locked(actor, declaration_id)
    new_state = _apply(actor, decl, "accept")
    old = decl.status
    decl.status = new_state
    decl.reviewed_at = timezone.now()
    decl.reviewed_by = actor.username
    decl.return_reason = ""
    decl.save(update_fields=["status", "reviewed_at", "reviewed_by", "return_reason", "updated_at"])
    audit.record(actor, "declaration.accept", decl, {"status": [old, new_state]})
    if decl.previous_id is not None:
        previous = Declaration.objects.select_for_update().get(pk=decl.previous_id)
        if previous.status == Status.ACCEPTED:
            previous.status = Status.SUPERSEDED
            previous.save(update_fields=["status", "updated_at"])
            audit.record(
                actor,
                "declaration.supersede",
                previous,
                {"status": [Status.ACCEPTED, Status.SUPERSEDED], "by_version": decl.version},
            )
    return decl


@transaction.atomic
def return_declaration(actor: Actor, declaration_id: int, *, reason: str) -> Declaration:
    reason = (reason or "").strip()
    decl = _locked(actor, declaration_id)
    new_state = _apply(actor, decl, "return")
    if not reason:
        raise Invalid.field("reason", _("say why the declaration is returned"))
    old = decl.status
    decl.status = new_state
    decl.return_reason = reason[:2000]
    decl.reviewed_at = timezone.now()
    decl.reviewed_by = actor.username
    decl.save(update_fields=["status", "return_reason", "reviewed_at", "reviewed_by", "updated_at"])
    audit.record(
        actor, "declaration.return", decl, {"status": [old, new_state], "reason": decl.return_reason}
    )
    return decl


@transaction.atomic
def amend(
    actor: Actor, declaration_id: int, *, reason: str, lines: Sequence[Mapping[str, Any]] | None = None
) -> Declaration:
    """A new draft version of an accepted declaration, with the reason; the accepted one stays in force
    until the amendment is accepted. One amendment is pending at a time."""
    reason = (reason or "").strip()
    decl = _locked(actor, declaration_id)
    _apply(actor, decl, "amend")
    if not reason:
        raise Invalid.field("reason", _("say why the declaration is amended"))
    pending = (
        Declaration.objects.filter(
            zone_id=decl.zone_id,
            organization_id=decl.organization_id,
            stream=decl.stream,
            period_start=decl.period_start,
            version__gt=decl.version,
        )
        .order_by("-version")
        .first()
    )
    if pending is not None:
        raise Conflict(
            _("version %(v)d of this declaration is already pending (%(s)s)")
            % {"v": pending.version, "s": Status(pending.status).label}
        )
    new = Declaration.objects.create(
        zone_id=decl.zone_id,
        organization_id=decl.organization_id,
        stream=decl.stream,
        period_kind=decl.period_kind,
        period_start=decl.period_start,
        period_end=decl.period_end,
        version=decl.version + 1,
        previous=decl,
        amendment_reason=reason[:2000],
        created_by=actor.username,
    )
    copies = [
        DeclarationLine(
            zone_id=ln.zone_id,
            declaration=new,
            site_id=ln.site_id,
            waste_code=ln.waste_code,
            waste_name=ln.waste_name,
            category_code=ln.category_code,
            destination=ln.destination,
            position=ln.position,
            **{f: getattr(ln, f) for f in rules.QTY_FIELDS},
        )
        for ln in decl.lines.all()
    ]
    DeclarationLine.objects.bulk_create(copies)
    audit.record(
        actor, "declaration.amend", new, {"amends": decl.pk, "version": new.version, "reason": reason}
    )
    if lines is not None:
        return save_declaration(
            actor, stream=new.stream, period=new.period_start, lines=lines, declaration_id=new.pk
        )
    return new


def versions(actor: Actor, declaration_id: int) -> list[dict[str, Any]]:
    """Every version of the declaration's period the actor may see, oldest first, each with its diff."""
    decl = get_declaration(actor, declaration_id)
    chain = list(
        visible_declarations(actor)
        .filter(organization_id=decl.organization_id, stream=decl.stream, period_start=decl.period_start)
        .order_by("version")
        .prefetch_related("lines__site")
    )
    out: list[dict[str, Any]] = []
    previous: dict[rules.LineKey, dict[str, Decimal]] = {}
    for version in chain:
        snap = {
            (ln.site.name if ln.site else "", ln.waste_code): {f: getattr(ln, f) for f in rules.QTY_FIELDS}
            for ln in version.lines.all()
        }
        out.append(
            {
                "id": version.pk,
                "version": version.version,
                "status": version.status,
                "amendment_reason": version.amendment_reason,
                "return_reason": version.return_reason,
                "submitted_at": version.submitted_at,
                "reviewed_at": version.reviewed_at,
                "diff": rules.diff_lines(previous, snap) if version.version > 1 else [],
            }
        )
        previous = snap
    return out


def list_declarations(
    actor: Actor,
    *,
    status: str | None = None,
    year: int | None = None,
    stream: str | None = None,
    organization_id: int | None = None,
    query: str | None = None,
) -> QuerySet[Declaration]:
    """The declarations the actor may see, each with its line count and totals (one query)."""
    qs = visible_declarations(actor)
    if status:
        qs = qs.filter(status=status)
    if year:
        # No period lies outside MIN_YEAR..MAX_YEAR; a year date() refuses must not reach the lookup.
        in_range = rules.MIN_YEAR <= year <= rules.MAX_YEAR
        qs = qs.filter(period_start__year=year) if in_range else qs.none()
    if stream:
        qs = qs.filter(stream=stream)
    if organization_id:
        qs = qs.filter(organization_id=organization_id)
    query = check_text(query, "q", max_length=200)  # PostgreSQL refuses NUL
    if query:
        qs = qs.filter(Q(organization__name__icontains=query) | Q(organization__uscc__icontains=query))
    zero = Value(Decimal(0))
    return (
        qs.select_related("organization")
        .annotate(
            line_count=Count("lines"),
            total_generated_t=Coalesce(Sum("lines__generated_t"), zero),
            total_closing_t=Coalesce(Sum("lines__closing_t"), zero),
        )
        .order_by("-period_start", "organization__name", "stream", "-version")
    )


def lines_of(declaration: Declaration) -> list[DeclarationLine]:
    return list(declaration.lines.select_related("site").order_by("position", "pk"))


def previous_lines(
    actor: Actor, *, stream: str, period: str | date, organization_id: int | None = None
) -> list[dict[str, Any]]:
    """The previous period's lines as a starting point for a new form: codes, sites, stock carried."""
    org = _declaring_org(actor, organization_id)
    parsed = _period_arg(period)
    prev = (
        Declaration.objects.filter(
            zone_id=actor.zone_id, organization=org, stream=stream, period_end=parsed.previous_end
        )
        .exclude(status=Status.SUPERSEDED)
        .order_by("-version")
        .first()
    )
    if prev is None:
        return []
    return [
        {
            "site": ln.site.name if ln.site else "",
            "waste_code": ln.waste_code,
            "waste_name": ln.waste_name,
            "opening_t": ln.closing_t,
            "destination": ln.destination,
        }
        for ln in lines_of(prev)
    ]


# --- Reconciliation with transfers (the seam) ------------------------------------------------------

TransferProvider = Callable[[int, int, date, date], Mapping[str, Decimal]]
TRANSFER_PROVIDERS: list[TransferProvider] = []


def register_transfer_provider(provider: TransferProvider) -> TransferProvider:
    """The transfers app registers the closed-transfer totals it knows; usable as a decorator."""
    if provider not in TRANSFER_PROVIDERS:
        TRANSFER_PROVIDERS.append(provider)
    return provider


def unregister_transfer_provider(provider: TransferProvider) -> None:
    if provider in TRANSFER_PROVIDERS:
        TRANSFER_PROVIDERS.remove(provider)


def transferred_by_code(
    zone_id: int, organization_id: int, period_start: date, period_end: date
) -> dict[str, Decimal] | None:
    """Closed transfers out of the organization per waste code in the period; None with no provider."""
    if not TRANSFER_PROVIDERS:
        return None
    totals: dict[str, Decimal] = defaultdict(lambda: rules.ZERO)
    for provider in TRANSFER_PROVIDERS:
        for code, quantity in provider(zone_id, organization_id, period_start, period_end).items():
            totals[code] += Decimal(quantity)
    return dict(totals)


@dataclass(frozen=True)
class ReconRow:
    waste_code: str
    declared_t: Decimal
    transferred_t: Decimal

    @property
    def difference_t(self) -> Decimal:
        return self.declared_t - self.transferred_t

    @property
    def flagged(self) -> bool:
        return self.difference_t != 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "waste_code": self.waste_code,
            "declared_t": rules.fmt_t(self.declared_t),
            "transferred_t": rules.fmt_t(self.transferred_t),
            "difference_t": rules.fmt_t(self.difference_t),
            "flagged": self.flagged,
        }


def reconcile(declaration: Declaration) -> list[ReconRow] | None:
    """Declared transferred-out per code against closed transfers; None until a provider exists."""
    closed = transferred_by_code(
        declaration.zone_id, declaration.organization_id, declaration.period_start, declaration.period_end
    )
    if closed is None:
        return None
    declared: dict[str, Decimal] = defaultdict(lambda: rules.ZERO)
    for code, util, disp in declaration.lines.values_list(
        "waste_code", "transferred_util_t", "transferred_disp_t"
    ):
        declared[code] += util + disp
    codes = sorted(set(declared) | set(closed))
    return [ReconRow(c, declared.get(c, rules.ZERO), closed.get(c, rules.ZERO)) for c in codes]


def reconciliation(actor: Actor, declaration_id: int) -> list[ReconRow] | None:
    return reconcile(get_declaration(actor, declaration_id))


# --- Import ----------------------------------------------------------------------------------------


def _importing_org(actor: Actor) -> Organization | None:
    if actor.is_system:
        return None
    _require(actor, "declare")
    return actor.organization


def estimate_rows(content: bytes, filename: str) -> int:
    """Rows in a file without parsing it: lines of a CSV, the rows of a workbook's sheets."""
    return tabular.estimate_rows(content, filename)


def check_file(
    actor: Actor,
    content: bytes,
    filename: str,
    progress: Callable[[int], None] | None = None,
    *,
    fast: bool = True,
) -> CheckResult:
    """Read and check a whole file; every fault is collected, nothing is written.

    `fast` (the default) checks raw cells with compact lines (`fastimport`); the general path through
    `read_table` and `LineChecker.check` gives the same declarations and the same faults.
    """
    org = _importing_org(actor)
    if fast:
        result = fastimport.check_content(actor.zone_id, org, content, filename, progress)
        if result is not None:
            if result.faults:
                raise ImportRejected(result.faults)
            return result
    table = read_table(content, filename, IMPORT_COLUMNS)
    if table.faults:
        raise ImportRejected(table.faults)
    checker = LineChecker(actor.zone_id, organization=org, progress=progress)
    result = checker.check(table.rows)
    if result.faults:
        raise ImportRejected(result.faults)
    return result


LINE_COLUMNS = [
    "zone_id",
    "declaration_id",
    "site_id",
    "waste_code",
    "waste_name",
    "category_code",
    *rules.QTY_FIELDS,
    "destination",
    "position",
]


def _line_tuples(zone_id: int, decl_id: int, group: Group) -> list[tuple[Any, ...]]:
    return [
        (
            zone_id,
            decl_id,
            ln.site_id,
            ln.waste_code,
            ln.waste_name,
            ln.category_code,
            *[ln.quantities[f] for f in rules.QTY_FIELDS],
            ln.destination,
            ln.position,
        )
        for ln in group.lines
    ]


def _insert_lines(rows: list[tuple[Any, ...]]) -> None:
    """Lines without model instances: PostgreSQL COPY (the fast path of large imports), else executemany."""
    table = connection.ops.quote_name(DeclarationLine._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg 3
            with raw.copy(f"COPY {table} ({', '.join(LINE_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(LINE_COLUMNS))
        sql = f"INSERT INTO {table} ({', '.join(LINE_COLUMNS)}) VALUES ({marks})"  # noqa: S608 - fixed names
        for i in range(0, len(rows), 5000):
            cursor.executemany(
                sql, [tuple(str(v) if isinstance(v, Decimal) else v for v in r) for r in rows[i : i + 5000]]
            )


def _copy_fast_lines(zone_id: int, groups: list[tuple[int, fastimport.FastGroup]]) -> int:
    """Compact lines as COPY text in chunks (PostgreSQL); the number of lines written."""
    table = connection.ops.quote_name(DeclarationLine._meta.db_table)
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(LINE_COLUMNS)}) FROM STDIN") as copy,
    ):
        chunk: list[str] = []
        for text in fastimport.copy_text(zone_id, groups):
            chunk.append(text)
            if len(chunk) >= 20_000:
                copy.write("".join(chunk))
                count += len(chunk)
                chunk = []
        copy.write("".join(chunk))
        count += len(chunk)
    return count


def write_groups(
    actor: Actor, result: CheckResult, *, submit: bool = False, job: ImportJob | None = None
) -> list[int]:
    """Write every checked group in one transaction: new drafts, or replaced lines of editable ones."""
    now = timezone.now()
    with transaction.atomic():
        existing_ids = [g.existing.pk for g in result.groups if g.existing is not None]
        locked = {d.pk: d for d in Declaration.objects.select_for_update().filter(pk__in=existing_ids)}
        for decl in locked.values():
            if decl.status not in rules.EDITABLE_STATES:
                raise Conflict(
                    _("declaration %(id)s changed meanwhile (%(s)s); check the file again")
                    % {"id": decl.pk, "s": decl.status}
                )
        new_decls = []
        for group in result.groups:
            if group.existing is None:
                new_decls.append(
                    Declaration(
                        zone_id=actor.zone_id,
                        organization_id=group.organization_id,
                        stream=group.stream,
                        period_kind=group.period.kind,
                        period_start=group.period.start,
                        period_end=group.period.end,
                        created_by=actor.username,
                        import_job=job,
                    )
                )
        Declaration.objects.bulk_create(new_decls, batch_size=1000)
        by_key = {(d.organization_id, d.stream, d.period_start): d for d in new_decls}
        by_key.update({(d.organization_id, d.stream, d.period_start): d for d in locked.values()})
        if locked:
            DeclarationLine.objects.filter(declaration_id__in=list(locked)).delete()
        lines: list[tuple[Any, ...]] = []
        fast_groups = [g for g in result.groups if isinstance(g, fastimport.FastGroup)]
        if fast_groups and connection.vendor == "postgresql":
            line_count = _copy_fast_lines(actor.zone_id, [(by_key[g.key].pk, g) for g in fast_groups])
        else:
            line_count = 0
            for group in fast_groups:
                lines += group.line_tuples(actor.zone_id, by_key[group.key].pk)
        for group in result.groups:
            if not isinstance(group, fastimport.FastGroup):
                lines += _line_tuples(actor.zone_id, by_key[group.key].pk, group)
        _insert_lines(lines)
        line_count += len(lines)
        ids = [by_key[g.key].pk for g in result.groups]
        if submit:
            for decl in by_key.values():
                rules.transition(decl.status, "submit", rules.PRODUCER)
            Declaration.objects.filter(pk__in=[d.pk for d in new_decls]).update(
                status=Status.SUBMITTED, submissions=1, submitted_at=now
            )
            for decl in locked.values():
                decl.status, decl.submitted_at = Status.SUBMITTED, now
                decl.submissions += 1
                decl.save(update_fields=["status", "submitted_at", "submissions", "updated_at"])
        summary = {
            "file": job.filename if job else "",
            "rows": result.rows,
            "declarations": len(ids),
            "created": len(new_decls),
            "replaced": len(locked),
            "lines": line_count,
            "submitted": submit,
        }
        if len(ids) <= 200:
            for decl_id in ids:
                decl = Declaration(pk=decl_id, zone_id=actor.zone_id)
                audit.record(
                    actor,
                    "declaration.import",
                    decl,
                    {**summary, "status": "submitted" if submit else "draft"},
                )
        else:
            anchor = job or Declaration(pk=ids[0], zone_id=actor.zone_id)
            audit.record(
                actor, "declaration.import", anchor, {**summary, "first_id": min(ids), "last_id": max(ids)}
            )
        if job is not None:
            job.status = ImportJob.Status.DONE
            job.phase = "done"
            job.processed_rows = result.rows
            job.summary = {**summary, "ids": ids[:1000]}
            job.finished_at = timezone.now()
            job.content = None
            job.save()
    return ids


@dataclass
class ImportOutcome:
    job: ImportJob
    result: CheckResult | None
    declaration_ids: list[int]
    background: bool = False


def purge_uploads(now: datetime | None = None) -> int:
    """Drop the files of dry runs older than IMPORT_UPLOAD_RETENTION_HOURS (their job keeps its
    summary and is marked expired) and of finished jobs; the number of files dropped. Runs at each
    upload, in the background task runner (`purge_uploads_task`) and as `declarations purge-uploads`."""
    now = now or timezone.now()
    hours = int(getattr(django_settings, "IMPORT_UPLOAD_RETENTION_HOURS", 24))
    with_file = ImportJob.objects.filter(content__isnull=False)
    finished = with_file.filter(status__in=[ImportJob.Status.DONE, ImportJob.Status.FAILED]).update(
        content=None
    )
    expired = with_file.filter(
        status=ImportJob.Status.CHECKED, created_at__lt=now - timedelta(hours=hours)
    ).update(
        content=None,
        status=ImportJob.Status.FAILED,
        phase=EXPIRED,
        faults=[{"field": "file", "message": _("this upload has expired; upload the file again")}],
        finished_at=now,
    )
    return finished + expired


EXPIRED = "expired"


def upload(
    actor: Actor, *, content: bytes, filename: str, then_import: bool = False, submit: bool = False
) -> ImportOutcome:
    """The dry run: check the file and keep it as a checked job, ready to import; faults raise.

    A file of more than CHECK_BACKGROUND_ROWS rows is only opened here (so that a bomb or a file over
    the limits is refused at once) and checked by a background task with progress on its job (and,
    with `then_import`, imported by it too): a request never spends minutes checking."""
    purge_uploads()
    org = _importing_org(actor)
    estimate = tabular.estimate_rows(content, filename)
    if estimate > CHECK_BACKGROUND_ROWS:
        tabular.open_rows(content, filename, columns=IMPORT_COLUMNS)  # limits and bombs: refused now
        job = ImportJob.objects.create(
            zone_id=actor.zone_id,
            organization=org,
            created_by=actor.username,
            filename=filename[:255],
            content=content,
            submit=submit,
            status=ImportJob.Status.QUEUED,
            phase="queued",
            total_rows=estimate,
        )
        from .tasks import check_upload, run_import

        (run_import if then_import else check_upload).enqueue(job.pk)
        job.refresh_from_db()
        return ImportOutcome(job, None, list(job.summary.get("ids", [])), background=True)
    result = check_file(actor, content, filename)
    job = ImportJob.objects.create(
        zone_id=actor.zone_id,
        organization=org,
        created_by=actor.username,
        filename=filename[:255],
        content=content,
        status=ImportJob.Status.CHECKED,
        phase="checked",
        total_rows=result.rows,
        processed_rows=result.rows,
        summary={"groups": result.summary()[:500], "rows": result.rows},
    )
    return ImportOutcome(job, result, [])


def check_job(job_id: int) -> None:
    """Check a queued upload (the background half of `upload`): checked with its summary, or
    rejected with its faults (and its file dropped)."""
    job = ImportJob.objects.get(pk=job_id)
    actor = actor_for_job(job)
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.RUNNING, phase="checking")

    def progress(n: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=n)

    try:
        result = check_file(actor, bytes(job.content or b""), job.filename, progress=progress)
    except Invalid as exc:
        _fail_job(job_id, exc)
        raise
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.CHECKED,
        phase="checked",
        total_rows=result.rows,
        processed_rows=result.rows,
        summary={"groups": result.summary()[:500], "rows": result.rows},
    )


def get_job(actor: Actor, job_id: int) -> ImportJob:
    qs = ImportJob.objects.filter(zone_id=actor.zone_id, pk=job_id)
    if not actor.is_system:
        qs = qs.filter(organization_id=actor.organization_id or 0)
    job = qs.defer("content").first()
    if job is None:
        raise NotFound(_("import %(id)s not found") % {"id": job_id})
    return job


def start_job(actor: Actor, job_id: int, *, submit: bool = False) -> ImportOutcome:
    """Import a checked file: inline when small, as a background task over BACKGROUND_ROWS rows."""
    get_job(actor, job_id)
    _importing_org(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.phase == EXPIRED:
            raise Conflict(_("this upload has expired; upload the file again"))
        if job.status != ImportJob.Status.CHECKED:
            raise Conflict(_("this import is %(s)s") % {"s": job.get_status_display()})
        job.status = ImportJob.Status.QUEUED
        job.phase = "queued"
        job.submit = submit
        job.processed_rows = 0
        job.save(update_fields=["status", "phase", "submit", "processed_rows"])
    if job.total_rows > BACKGROUND_ROWS:
        from .tasks import run_import

        run_import.enqueue(job.pk)
        job.refresh_from_db()
        return ImportOutcome(job, None, [], background=True)
    ids = run_job(job.pk, actor=actor)
    job.refresh_from_db()
    return ImportOutcome(job, None, ids)


def import_file(
    actor: Actor, *, content: bytes, filename: str, dry_run: bool = False, submit: bool = False
) -> ImportOutcome:
    """Check a file, then (unless a dry run) import it all or nothing."""
    outcome = upload(actor, content=content, filename=filename, then_import=not dry_run, submit=submit)
    if dry_run or outcome.background:
        return outcome
    return start_job(actor, outcome.job.pk, submit=submit)


def actor_for_job(job: ImportJob) -> Actor:
    """The job's author again (a background task has no request): its organization's clerk, or the system."""
    zone = Zone.objects.get(pk=job.zone_id)
    if job.organization_id is None:
        return Actor.system(zone)
    org = Organization.objects.get(pk=job.organization_id)
    return Actor(
        zone_id=zone.pk,
        organization=org,
        member_role="clerk",
        org_roles=frozenset(org.roles.values_list("role", flat=True)),
    )


def run_job(job_id: int, *, actor: Actor | None = None) -> list[int]:
    """Check the job's file again and write it; progress is saved as rows are checked."""
    job = ImportJob.objects.get(pk=job_id)
    actor = actor or actor_for_job(job)
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.RUNNING, phase="checking")

    def progress(n: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=n)

    try:
        result = check_file(actor, bytes(job.content or b""), job.filename, progress=progress)
        ImportJob.objects.filter(pk=job_id).update(phase="writing", processed_rows=result.rows)
        return write_groups(actor, result, submit=job.submit, job=job)
    except Invalid as exc:
        _fail_job(job_id, exc)
        raise


def _fail_job(job_id: int, exc: Invalid) -> None:
    """A rejected job keeps its faults, not its file: the faults say what to fix."""
    faults = exc.errors if exc.errors else [{"message": exc.message}]
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportJob.Status.FAILED,
        phase="failed",
        faults=faults[:5000],
        finished_at=timezone.now(),
        content=None,
    )


# --- Template and exports ------------------------------------------------------------------------


def template_xlsx(actor: Actor, *, stream: str, period: str, organization_id: int | None = None) -> bytes:
    """The Excel template of a period: prefilled with last period's codes and stock, code drop-downs."""
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from zerowaste.catalog import services as catalog

    stream = _stream_arg(stream)
    parsed = _period_arg(period)
    org = _declaring_org(actor, organization_id)
    prefill = previous_lines(actor, stream=stream, period=parsed.start, organization_id=org.pk)
    version = catalog.version_in_force(actor.zone_id, stream, parsed.start)
    entries = list(version.entries.order_by("position").values_list("code", "name")) if version else []

    workbook = tabular.new_workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "申报"
    sheet.append(TEMPLATE_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for line in prefill:
        sheet.append(
            [
                org.uscc,
                parsed.label,
                stream,
                line["site"],
                line["waste_code"],
                line["waste_name"],
                "t",
                float(line["opening_t"])
                if line["opening_t"] == line["opening_t"].to_integral()
                else str(line["opening_t"]),
                None,
                None,
                None,
                None,
                None,
                None,
                line["destination"],
            ]
        )
    codes = workbook.create_sheet("名录")
    codes.append(["废物代码", "废物名称"])
    for code, name in entries:
        codes.append([code, name])
    help_sheet = workbook.create_sheet("说明")
    for text in (
        f"{org.name} {org.uscc} · {parsed.label} · {stream}",
        "每行一个场所的一种废物；数量单位为 t（吨）或 kg（千克），精确到千克。",
        "平衡：期初贮存量 + 产生量 − 自行利用量 − 自行处置量 − 委托利用量 − 委托处置量 = 期末贮存量。",
        "期初贮存量留空时取上期期末贮存量。废物代码取自“名录”页（当期有效的名录版本）。",
    ):
        help_sheet.append([text])
    last = max(len(entries) + 1, 2)
    code_list = DataValidation(type="list", formula1=f"=名录!$A$2:$A${last}", allow_blank=True)
    code_list.error = "不在当期名录中"
    sheet.add_data_validation(code_list)
    code_list.add("E2:E5000")
    unit_list = DataValidation(type="list", formula1='"t,kg"', allow_blank=True)
    sheet.add_data_validation(unit_list)
    unit_list.add("G2:G5000")
    return tabular.workbook_bytes(workbook)


EXPORT_HEADERS = [
    "统一社会信用代码",
    "单位名称",
    "申报期",
    "废物类型",
    "版本",
    "状态",
    "场所",
    "废物代码",
    "废物名称",
    "类别",
    "单位",
    "期初贮存量",
    "产生量",
    "自行利用量",
    "自行处置量",
    "委托利用量",
    "委托处置量",
    "期末贮存量",
    "去向",
]


def export_rows(actor: Actor, **filters: Any) -> list[list[Any]]:
    """The lines of the declarations the actor may see (filtered like the list), one row each."""
    decl_ids = list_declarations(actor, **filters).values("pk")
    rows = []
    for ln in (
        DeclarationLine.objects.filter(zone_id=actor.zone_id, declaration_id__in=decl_ids)
        .select_related("declaration__organization", "site")
        .order_by(
            "declaration__period_start", "declaration__organization__name", "declaration_id", "position"
        )
    ):
        d = ln.declaration
        rows.append(
            [
                d.organization.uscc,
                d.organization.name,
                d.period_label,
                d.stream,
                d.version,
                d.status,
                ln.site.name if ln.site else "",
                ln.waste_code,
                ln.waste_name,
                ln.category_code,
                "t",
                *[rules.fmt_t(getattr(ln, f)) for f in rules.QTY_FIELDS],
                ln.destination,
            ]
        )
    return rows


def to_csv(headers: list[str], rows: Iterable[list[Any]]) -> bytes:
    return tabular.write_csv(headers, rows)


def to_xlsx(title: str, headers: list[str], rows: list[list[Any]]) -> bytes:
    """The rows as a workbook whose quantities are numbers (the CSV's decimal strings, e.g. "3.005",
    become numeric cells shown with 3 decimals), so that a spreadsheet can sum them."""
    return write_xlsx(title, headers, [[tabular.numeric_cell(value) for value in row] for row in rows])


# --- Production data -------------------------------------------------------------------------------


def _items(value: Any, field: str) -> list[dict[str, str]]:
    items = []
    for i, item in enumerate(value or []):
        if not isinstance(item, Mapping):
            raise Invalid.field(f"{field}[{i}]", _("give name, quantity and unit"))
        name = str(item.get("name") or "").strip()
        if not name:
            raise Invalid.field(f"{field}[{i}].name", _("this field is required"))
        quantity = str(item.get("quantity") or "").strip()
        if quantity:
            try:
                number = Decimal(quantity)
            except ArithmeticError:
                raise Invalid.field(f"{field}[{i}].quantity", _("not a number")) from None
            if not number.is_finite() or number < 0:
                raise Invalid.field(f"{field}[{i}].quantity", _("must not be negative"))
            quantity = str(number)
        items.append(
            {"name": name[:200], "quantity": quantity, "unit": str(item.get("unit") or "").strip()[:20]}
        )
    return items


@transaction.atomic
def save_production_data(
    actor: Actor,
    *,
    year: int,
    value_added_wan: Decimal | str,
    products: Sequence[Mapping[str, Any]] | None = None,
    raw_materials: Sequence[Mapping[str, Any]] | None = None,
    organization_id: int | None = None,
) -> ProductionData:
    org = _declaring_org(actor, organization_id)
    if not rules.MIN_YEAR <= int(year) <= rules.MAX_YEAR:
        raise Invalid.field(
            "year", _("a year between %(a)d and %(b)d") % {"a": rules.MIN_YEAR, "b": rules.MAX_YEAR}
        )
    try:
        value = Decimal(str(value_added_wan)).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise Invalid.field("value_added_wan", _("not a number")) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e16"):
        raise Invalid.field("value_added_wan", _("must be zero or more"))
    data = {
        "value_added_wan": value,
        "products": _items(products, "products"),
        "raw_materials": _items(raw_materials, "raw_materials"),
    }
    row = (
        ProductionData.objects.select_for_update()
        .filter(zone_id=actor.zone_id, organization=org, year=year)
        .first()
    )
    before = audit.snapshot(row, ["value_added_wan", "products", "raw_materials"]) if row else {}
    if row is None:
        row = ProductionData(zone_id=actor.zone_id, organization=org, year=year)
    for key, val in data.items():
        setattr(row, key, val)
    row.save()
    audit.record(
        actor,
        "production.save",
        row,
        audit.diff(before, audit.snapshot(row, ["value_added_wan", "products", "raw_materials"])),
    )
    return row


def production_data(actor: Actor, *, year: int | None = None) -> QuerySet[ProductionData]:
    qs = ProductionData.objects.filter(zone_id=actor.zone_id, organization_id__in=_stat_orgs(actor))
    if year:
        qs = qs.filter(year=year)
    return qs.select_related("organization").order_by("organization__name", "year")


def latest_year_with_data(actor: Actor) -> int | None:
    """The latest year of a declaration the actor sees (statistics, intensity, production open on it)."""
    return periods.latest_year(visible_declarations(actor), "period_start")


def latest_month_with_data(actor: Actor, *, stream: str | None = None) -> date | None:
    """The first day of the last month a declaration the actor sees covers (of one stream; a quarter's
    or a year's declaration covers up to its last month): one aggregate."""
    qs = visible_declarations(actor)
    if stream:
        qs = qs.filter(stream=stream)
    found = qs.order_by().aggregate(latest=Max("period_end"))["latest"]
    return date(found.year, found.month, 1) if isinstance(found, date) else None


def years_with_data(actor: Actor) -> list[int]:
    """The years of the declarations the actor sees, latest first (the year selects of the statistics)."""
    return sorted({d.year for d in visible_declarations(actor).dates("period_start", "year")}, reverse=True)


def latest_production_year(actor: Actor) -> int | None:
    """The latest year of production data the actor sees, else of its declarations."""
    if not may(actor, "view"):
        return None
    return periods.latest_year(production_data(actor), "year") or latest_year_with_data(actor)


# --- Statistics ------------------------------------------------------------------------------------


def effective_lines(zone_id: int) -> QuerySet[DeclarationLine]:
    """Lines that count: accepted versions, first versions while submitted (rules.counts_in_statistics)."""
    return DeclarationLine.objects.filter(zone_id=zone_id).filter(
        Q(declaration__status=Status.ACCEPTED)
        | Q(declaration__status=Status.SUBMITTED, declaration__previous__isnull=True)
    )


def _stat_orgs(actor: Actor) -> QuerySet[Organization]:
    _require(actor, "view")
    return visible_organizations(actor).values("pk")  # type: ignore[return-value]


def _group_expression(by: str) -> Any:
    org = "declaration__organization__"
    if by == "category":
        return F("category_code")
    if by == "code":
        return F("waste_code")
    if by == "industry":
        return F(f"{org}industry")
    if by == "organization":
        return F(f"{org}name")
    if by == "month":
        return F("declaration__period_start")
    if by == "park":
        return Case(
            When(**{f"{org}area__kind": "park"}, then=F(f"{org}area__name")),
            default=Value(""),
            output_field=CharField(),
        )
    if by == "street":
        return Case(
            When(**{f"{org}area__kind": "street"}, then=F(f"{org}area__name")),
            When(**{f"{org}area__parent__kind": "street"}, then=F(f"{org}area__parent__name")),
            default=Value(""),
            output_field=CharField(),
        )
    raise Invalid.field("by", _("one of %(all)s") % {"all": ", ".join(rules.STAT_GROUPS)})


def _aggregate(
    actor: Actor, year: int, by: str, stream: str, organization_id: int | None, month: int | None = None
) -> dict[str, dict[str, Decimal]]:
    qs = effective_lines(actor.zone_id).filter(
        declaration__stream=stream,
        declaration__period_start__year=year,
        declaration__organization_id__in=_stat_orgs(actor),
    )
    if month:
        qs = qs.filter(declaration__period_start__month=month)
    if organization_id:
        qs = qs.filter(declaration__organization_id=organization_id)
    zero = Value(Decimal(0))
    period_end = rules.month_end(year, month) if month else date(year, 12, 31)
    stock_filter = Q() if by == "month" else Q(declaration__period_end=period_end)
    rows = (
        qs.annotate(group=_group_expression(by))
        .values("group")
        .annotate(
            generated=Coalesce(Sum("generated_t"), zero),
            utilized=Coalesce(Sum("utilized_t"), zero),
            disposed=Coalesce(Sum("disposed_t"), zero),
            t_util=Coalesce(Sum("transferred_util_t"), zero),
            t_disp=Coalesce(Sum("transferred_disp_t"), zero),
            stock=Coalesce(Sum("closing_t", filter=stock_filter), zero),
        )
        .order_by("group")
    )
    out: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        key = row["group"]
        if isinstance(key, date):
            key = f"{key.year}-{key.month:02d}" if by == "month" else key.isoformat()
        out[str(key or "")] = {
            k: Decimal(row[k]) for k in ("generated", "utilized", "disposed", "t_util", "t_disp", "stock")
        }
    return out


def _month_arg(month: int | None) -> int | None:
    if month is not None and not 1 <= month <= 12:
        raise Invalid.field("month", _("a month between 1 and 12"))
    return month


def statistics(
    actor: Actor,
    *,
    year: int,
    by: str = "category",
    stream: str = "isw",
    organization_id: int | None = None,
    month: int | None = None,
) -> dict[str, Any]:
    """Tonnes by group for a year (or one month of it: the monthly declarations of that month), with
    the same group a year before; two queries whatever the rows."""
    stream = _stream_arg(stream)
    _year_arg(year)
    _month_arg(month)
    _group_expression(by)
    current = _aggregate(actor, year, by, stream, organization_id, month)
    before = _aggregate(actor, year - 1, by, stream, organization_id, month)
    if by == "month":
        before = {f"{year}-{k[5:]}": v for k, v in before.items()}
    rows = []
    for key, v in current.items():
        prev = before.get(key, {}).get("generated")
        utilization = v["utilized"] + v["t_util"]
        rows.append(
            {
                "key": key,
                "generated_t": rules.fmt_t(v["generated"]),
                "utilized_t": rules.fmt_t(v["utilized"]),
                "disposed_t": rules.fmt_t(v["disposed"]),
                "transferred_t": rules.fmt_t(v["t_util"] + v["t_disp"]),
                "transferred_util_t": rules.fmt_t(v["t_util"]),
                "transferred_disp_t": rules.fmt_t(v["t_disp"]),
                "stock_t": rules.fmt_t(v["stock"]),
                "utilization_rate": str((utilization * 100 / v["generated"]).quantize(Decimal("0.1")))
                if v["generated"]
                else None,
                "previous_year_generated_t": rules.fmt_t(prev) if prev is not None else None,
                "yoy_pct": str(rules.yoy_percent(v["generated"], prev)) if prev else None,
            }
        )
    total = sum((v["generated"] for v in current.values()), rules.ZERO)
    total_before = sum((v["generated"] for v in before.values()), rules.ZERO)
    return {
        "year": year,
        "by": by,
        "stream": stream,
        "total_generated_t": rules.fmt_t(total),
        "previous_year_total_generated_t": rules.fmt_t(total_before),
        "yoy_pct": str(rules.yoy_percent(total, total_before)) if total_before else None,
        "rows": rows,
    }


STAT_HEADERS = [
    "key",
    "generated_t",
    "utilized_t",
    "disposed_t",
    "transferred_t",
    "stock_t",
    "utilization_rate",
    "previous_year_generated_t",
    "yoy_pct",
]


def intensity_target(zone_id: int) -> Decimal:
    zone = Zone.objects.get(pk=zone_id)
    value = (zone.settings or {}).get("declarations", {}).get("intensity_target_t_per_wan")
    return Decimal(str(value)) if value is not None else rules.DEFAULT_INTENSITY_TARGET


def intensity(actor: Actor, *, year: int, above_target_only: bool = False) -> dict[str, Any]:
    """Generation intensity (ISW + HW generated per 万元 value added) per enterprise; three queries."""
    _year_arg(year)
    target = intensity_target(actor.zone_id)
    zero = Value(Decimal(0))
    generated: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for org_id, stream, total in (
        effective_lines(actor.zone_id)
        .filter(declaration__period_start__year=year, declaration__organization_id__in=_stat_orgs(actor))
        .values_list("declaration__organization_id", "declaration__stream")
        .annotate(total=Coalesce(Sum("generated_t"), zero))
    ):
        generated[org_id][stream] = Decimal(total)
    values = dict(
        ProductionData.objects.filter(
            zone_id=actor.zone_id, year=year, organization_id__in=_stat_orgs(actor)
        ).values_list("organization_id", "value_added_wan")
    )
    orgs = {o.pk: o for o in Organization.objects.filter(pk__in=set(generated) | set(values))}
    rows = []
    for org_id in sorted(orgs, key=lambda i: orgs[i].name):
        isw = generated.get(org_id, {}).get("isw", rules.ZERO)
        hw = generated.get(org_id, {}).get("hw", rules.ZERO)
        value = values.get(org_id)
        ratio = rules.intensity(isw + hw, value)
        above = ratio is not None and ratio > target
        if above_target_only and not above:
            continue
        rows.append(
            {
                "organization_id": org_id,
                "organization": orgs[org_id].name,
                "uscc": orgs[org_id].uscc,
                "industry": orgs[org_id].industry,
                "isw_generated_t": rules.fmt_t(isw),
                "hw_generated_t": rules.fmt_t(hw),
                "generated_t": rules.fmt_t(isw + hw),
                "value_added_wan": str(value) if value is not None else None,
                "intensity_t_per_wan": str(ratio) if ratio is not None else None,
                "above_target": above,
            }
        )
    rows.sort(key=lambda r: Decimal(str(r["intensity_t_per_wan"] or "-1")), reverse=True)
    return {
        "year": year,
        "target_t_per_wan": str(target),
        "rows": rows,
        "above_target": sum(1 for r in rows if r["above_target"]),
    }


INTENSITY_HEADERS = [
    "organization",
    "uscc",
    "industry",
    "isw_generated_t",
    "hw_generated_t",
    "generated_t",
    "value_added_wan",
    "intensity_t_per_wan",
    "above_target",
]


# --- Material flows and missing declarations (the regulator cockpit) -------------------------------

FLOW_WAYS = ("utilized", "disposed", "transferred_util", "transferred_disp", "stored")
FLOW_SUMS = frozenset({"opening", "generated", *FLOW_WAYS[:4], "closing"})
NOT_STATED = "—"


def _flow_lines(
    actor: Actor, *, year: int, month: int | None = None, stream: str | None = None
) -> QuerySet[DeclarationLine]:
    _year_arg(year)
    _month_arg(month)
    qs = effective_lines(actor.zone_id).filter(
        declaration__period_start__year=year, declaration__organization_id__in=_stat_orgs(actor)
    )
    if month:
        qs = qs.filter(declaration__period_start__month=month)
    if stream:
        qs = qs.filter(declaration__stream=_stream_arg(stream))
    return qs


def material_flows(
    actor: Actor, *, year: int, month: int | None = None, stream: str | None = None
) -> dict[str, Any]:
    """The zone's material flow (seed:1429) as a layered graph, one query: industries → waste
    categories → ways (utilized or disposed in-house, transferred out for utilization or disposal,
    put into storage) → declared receivers of what was transferred out.

    Every line's balance (opening + generated − ways = closing) makes every inner node balance to the
    kilogram: a category's net stock change goes to "stored", or comes from "stock drawn" when the
    stock fell. Nodes are `industry:…`, `category:…`, `way:…`, `receiver:…`, `source:stock`.
    """
    zero = Value(Decimal(0))
    rows = (
        _flow_lines(actor, year=year, month=month, stream=stream)
        .values("declaration__organization__industry", "category_code", "destination")
        .annotate(
            opening=Coalesce(Sum("opening_t"), zero),
            generated=Coalesce(Sum("generated_t"), zero),
            utilized=Coalesce(Sum("utilized_t"), zero),
            disposed=Coalesce(Sum("disposed_t"), zero),
            transferred_util=Coalesce(Sum("transferred_util_t"), zero),
            transferred_disp=Coalesce(Sum("transferred_disp_t"), zero),
            closing=Coalesce(Sum("closing_t"), zero),
        )
        .order_by()
    )
    links: dict[tuple[str, str], Decimal] = defaultdict(lambda: rules.ZERO)
    stock_change: dict[str, Decimal] = defaultdict(lambda: rules.ZERO)
    for raw in rows:
        # SQLite sums decimals as floats: back to the kilogram, which every stored quantity is.
        row = {k: (Decimal(str(v)).quantize(rules.KILOGRAM) if k in FLOW_SUMS else v) for k, v in raw.items()}
        industry = f"industry:{row['declaration__organization__industry'] or NOT_STATED}"
        category = f"category:{row['category_code'] or NOT_STATED}"
        receiver = f"receiver:{str(row['destination'] or '').strip() or NOT_STATED}"
        links[(industry, category)] += Decimal(row["generated"])
        for way in ("utilized", "disposed", "transferred_util", "transferred_disp"):
            links[(category, f"way:{way}")] += Decimal(row[way])
        links[("way:transferred_util", receiver)] += Decimal(row["transferred_util"])
        links[("way:transferred_disp", receiver)] += Decimal(row["transferred_disp"])
        stock_change[category] += Decimal(row["closing"]) - Decimal(row["opening"])
    for category, change in stock_change.items():
        if change > 0:
            links[(category, "way:stored")] += change
        elif change < 0:
            links[("source:stock", category)] -= change
    kept = {k: v for k, v in links.items() if v != 0}
    flow_in: dict[str, Decimal] = {}
    flow_out: dict[str, Decimal] = {}
    for (source, target), value in kept.items():
        flow_out[source] = flow_out.get(source, rules.ZERO) + value
        flow_in[target] = flow_in.get(target, rules.ZERO) + value
    layer = {"source": 0, "industry": 0, "category": 1, "way": 2, "receiver": 3}
    nodes = []
    for node in sorted(set(flow_in) | set(flow_out), key=lambda n: (layer[n.split(":", 1)[0]], n)):
        kind, key = node.split(":", 1)
        inner = node in flow_in and node in flow_out
        nodes.append(
            {
                "id": node,
                "kind": kind,
                "key": key,
                "layer": layer[kind],
                "in_t": rules.fmt_t(flow_in.get(node, rules.ZERO)),
                "out_t": rules.fmt_t(flow_out.get(node, rules.ZERO)),
                "balanced": not inner or flow_in[node] == flow_out[node],
            }
        )
    sources = sum((v for n, v in flow_out.items() if n not in flow_in), rules.ZERO)
    sinks = sum((v for n, v in flow_in.items() if n not in flow_out), rules.ZERO)
    return {
        "year": year,
        "month": month,
        "stream": stream,
        "nodes": nodes,
        "links": [
            {"source": s, "target": t, "value_t": rules.fmt_t(v)}
            for (s, t), v in sorted(kept.items(), key=lambda kv: (layer[kv[0][0].split(":", 1)[0]], kv[0]))
        ],
        "generated_t": rules.fmt_t(
            sum((v for (s, _t), v in kept.items() if s.startswith("industry:")), rules.ZERO)
        ),
        "sources_t": rules.fmt_t(sources),
        "sinks_t": rules.fmt_t(sinks),
        "balanced": sources == sinks and all(n["balanced"] for n in nodes),
    }


def flow_lines(
    actor: Actor,
    *,
    year: int,
    month: int | None = None,
    stream: str | None = None,
    industry: str | None = None,
    category: str | None = None,
    receiver: str | None = None,
    waste_code: str | None = None,
) -> QuerySet[DeclarationLine]:
    """The declaration lines behind a node of `material_flows` (or a category of `statistics`)."""
    qs = _flow_lines(actor, year=year, month=month, stream=stream)
    if industry is not None:
        qs = qs.filter(declaration__organization__industry="" if industry == NOT_STATED else industry)
    if category is not None:
        qs = qs.filter(category_code="" if category == NOT_STATED else category)
    if waste_code is not None:
        qs = qs.filter(waste_code=waste_code)
    if receiver is not None:
        qs = qs.filter(destination="" if receiver == NOT_STATED else receiver)
    return qs.select_related("declaration__organization").order_by(
        "declaration__organization__name", "declaration__period_start", "declaration__stream", "position"
    )


def missing_declarations(
    actor: Actor, *, year: int, month: int | None = None, stream: str | None = None
) -> list[dict[str, Any]]:
    """Active producers the actor sees with no accepted declaration whose period overlaps the year
    (or the month); one query. `pending` counts their submitted, not yet accepted ones."""
    _year_arg(year)
    _month_arg(month)
    start = date(year, month or 1, 1)
    end = rules.month_end(year, month) if month else date(year, 12, 31)
    overlapping = Q(declarations__period_start__lte=end, declarations__period_end__gte=start)
    if stream:
        overlapping &= Q(declarations__stream=_stream_arg(stream))
    accepted = Declaration.objects.filter(
        zone_id=actor.zone_id, status=Status.ACCEPTED, period_start__lte=end, period_end__gte=start
    )
    if stream:
        accepted = accepted.filter(stream=stream)
    producers = (
        Organization.objects.filter(
            zone_id=actor.zone_id, pk__in=_stat_orgs(actor), is_active=True, roles__role="producer"
        )
        .exclude(pk__in=accepted.values("organization_id"))
        .annotate(
            pending=Count(
                "declarations",
                filter=overlapping & Q(declarations__status__in=[Status.SUBMITTED, Status.RETURNED]),
            ),
            last_accepted=Max("declarations__period_end", filter=Q(declarations__status=Status.ACCEPTED)),
        )
        .order_by("name", "pk")
    )
    return [
        {
            "organization_id": org.pk,
            "organization": org.name,
            "uscc": org.uscc,
            "industry": org.industry,
            "pending": org.pending,
            "last_accepted_period_end": org.last_accepted,
        }
        for org in producers
    ]
