"""The audit log reads like a regulator's document (issue 16, defect 1): a single stored value is
never indexed like a pair, every action, record type and field has a name in both languages, values
are formatted by type, filters narrow (never widen) what the actor may read, and the filtered log
exports through the platform's one writer — on the page, the API and the command line."""

from __future__ import annotations

import ast
import csv
import io
import json
import pathlib
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

import zerowaste
from zerowaste.core import audit, audit_display
from zerowaste.core.authz import Actor, actor_for_membership, visible_audit_entries
from zerowaste.core.models import Area, AuditEntry, Membership, Organization, Zone
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db

# f-string actions and the values their placeholder takes; a new f-string action fails
# `test_every_action_the_code_writes_has_a_label_in_both_languages` until it is listed here.
DYNAMIC_ACTIONS = {
    "f'transfer.{action}'": lambda: [f"transfer.{a}" for a in _transfer_actions()],
    "f'licence.{event}'": lambda: [f"licence.{e}" for e in _licence_events()],
    "f'exchange.{side}.withdraw'": lambda: ["exchange.supply.withdraw", "exchange.demand.withdraw"],
    "f\"household.{what}.{('activate' if active else 'deactivate')}\"": lambda: [
        f"household.{what}.{change}"
        for what in ("source", "station", "bin", "device")
        for change in ("activate", "deactivate")
    ],
    "f'household.{kind}.add'": lambda: [f"household.{kind}.add" for kind in ("source", "station", "bin")],
    "f'household.{kind}.change'": lambda: [
        f"household.{kind}.change" for kind in ("source", "station", "bin")
    ],
}


def _transfer_actions() -> tuple[str, ...]:
    from zerowaste.transfers import rules

    return rules.ACTIONS


def _licence_events() -> tuple[str, ...]:
    from zerowaste.core import rules

    return rules.LICENCE_EVENTS


def _strings(node: ast.expr) -> list[str] | None:
    """Every value an action expression can take, or None when it is not made of literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body), _strings(node.orelse)
        return a + b if a is not None and b is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        a, b = _strings(node.left), _strings(node.right)
        return [x + y for x in a for y in b] if a is not None and b is not None else None
    return None


def written_actions() -> tuple[set[str], list[str]]:
    """Every action string `audit.record(...)`/`audit.append(...)` is called with in the code, and
    the calls whose action the test cannot read."""
    root = pathlib.Path(zerowaste.__file__).parent
    found: set[str] = set()
    unreadable: list[str] = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if "/tests/" in rel or rel.startswith("testing/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            func = getattr(node, "func", None)
            if not (
                isinstance(node, ast.Call)
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "audit"
                and func.attr in ("record", "append")
            ):
                continue
            if func.attr == "record":
                arg = node.args[1] if len(node.args) > 1 else None
            else:
                arg = next((k.value for k in node.keywords if k.arg == "action"), None)
            if arg is None:
                unreadable.append(f"{rel}:{node.lineno}")
                continue
            values = _strings(arg)
            if values is None:
                expand = DYNAMIC_ACTIONS.get(ast.unparse(arg))
                if expand is None:
                    unreadable.append(f"{rel}:{node.lineno}: {ast.unparse(arg)}")
                    continue
                values = expand()
            found.update(values)
    return found, unreadable


def _is_chinese(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def test_every_action_the_code_writes_has_a_label_in_both_languages() -> None:
    actions, unreadable = written_actions()
    assert not unreadable, f"list these f-string actions in DYNAMIC_ACTIONS: {unreadable}"
    assert {"transfer.accept", "declaration.submit", "declaration.resubmit", "licence.verify"} <= actions
    assert "transfer.revision_approve" in actions and "exchange.demand.withdraw" in actions
    registered = audit_display.registry().actions
    missing = sorted(actions - set(registered))
    assert not missing, f"actions without a label (add them to the app's audit_labels.py): {missing}"
    for action in actions:
        with translation.override("zh-hans"):
            zh = audit_display.action_label(action)
        with translation.override("en"):
            en = audit_display.action_label(action)
        assert _is_chinese(zh) and zh != action, (action, zh)
        assert en and not _is_chinese(en) and en != action, (action, en)


def test_every_record_type_and_registered_field_has_both_names() -> None:
    reg = audit_display.registry()
    assert "transfers.transfer" in reg.records and "core.organization" in reg.records
    for name, label in [*reg.records.items(), *reg.fields.items()]:
        assert _is_chinese(label.zh) and label.en and not _is_chinese(label.en), name


def test_every_record_identifier_reads_its_rows() -> None:
    """Each record type's identifier names fields its model has (the query runs, on no rows)."""
    for model, record in audit_display.registry().records.items():
        if record.identify is not None:
            assert record.identify(["1", "*"]) == {}, model


@pytest.mark.slow
def test_the_demo_log_has_a_name_for_every_action_record_and_field(demo_zone: Zone) -> None:
    entries = list(AuditEntry.objects.filter(zone_id=demo_zone.pk))
    assert entries
    with translation.override("zh-hans"):
        for r in audit_display.readable(entries):
            assert _is_chinese(r.action_label), r.entry.action
            assert _is_chinese(r.record_type), r.entry.model
            for change in r.changes:
                assert _is_chinese(change.label), (r.entry.action, change.field)


# --- The two-character bug and formatting ---------------------------------------------------------


@pytest.fixture
def regulator(zone: Zone) -> Membership:
    office = parties.make_org(zone, roles=("regulator",), name="无废城市专班")
    return parties.make_member(office, "admin")


def _session(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


def _accept_entry(zone: Zone, org: Organization) -> AuditEntry:
    """What a consignee's acceptance stores: a diff of the manifest beside single values."""
    return audit.append(
        zone_id=zone.pk,
        actor=Actor.system(zone),
        action="transfer.accept",
        model="transfers.transfer",
        object_id="4413",
        changes={
            "state": ["delivered", "closed"],
            "consignee_id": [None, org.pk],
            "signed_at": datetime.fromisoformat("2020-06-01T02:30:00+00:00"),
            "quantity_t": Decimal("12345.5"),
            "conclusion": "hazardous",
            "legs": [None, [{"seq": 1, "carrier_id": org.pk, "quantity_seen_t": "1.000"}]],
        },
    )


def test_a_single_stored_value_is_never_shown_as_its_first_two_characters(
    zone: Zone, regulator: Membership
) -> None:
    org = parties.make_org(zone, name="接收甲公司")
    _accept_entry(zone, org)
    html = _session(regulator).get("/audit/").content.decode()
    assert "2 → 0" not in html and "1 → ." not in html and "h → a" not in html
    assert "2020-06-01 10:30:00" in html  # UTC 02:30 is 10:30 in Asia/Shanghai
    assert "12,345.500 吨" in html
    assert "已送达" in html and "已关闭" in html  # the states by their labels
    assert "接收单位" in html and "接收甲公司" in html  # the organization by its name
    assert "接收联单" in html and "签字时间" in html


def test_the_page_speaks_chinese_without_codes_model_labels_or_reprs(
    zone: Zone, regulator: Membership
) -> None:
    org = parties.make_org(zone, name="接收乙公司")
    _accept_entry(zone, org)
    parties.token_for(org, ("read",))
    response = _session(regulator).get("/audit/")
    assert response.status_code == 200
    html = re.sub(r"<[^>]+>", " ", response.content.decode())  # what a person reads (not option values)
    for raw in (
        "transfer.accept",
        "organization.register",
        "token.create",
        "transfers.transfer",
        "core.organization",
    ):
        assert raw not in html, raw
    for repr_start in ("[{'", "{'", "[None", "None"):
        assert repr_start not in html, repr_start
    assert "登记单位" in html and "创建接口令牌" in html and "联单" in html


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_values_are_formatted_by_type(language: str) -> None:
    with translation.override(language):
        zh = language == "zh-hans"
        assert audit_display.format_quantity("208400") == ("208,400.000 吨" if zh else "208,400.000 t")
        assert audit_display.format_quantity(Decimal("5000"), audit_display.QUANTITY_KG) == (
            "5,000 千克" if zh else "5,000 kg"
        )
        assert audit_display.format_value(True) == ("是" if zh else "yes")
        assert audit_display.format_value(False) == ("否" if zh else "no")
        assert audit_display.format_value("2020-12-31T16:00:00+00:00") == "2021-01-01 00:00:00"
        assert audit_display.format_value(date(2020, 6, 1)) == "2020-06-01"
        assert audit_display.format_value(None) == "—"
        assert audit_display.format_value(["a", "b"]) == "a、b"
        assert audit_display.format_value({"x": 1}) == "x: 1"
        assert audit_display.format_value("accepted", choices={"accepted": "已受理"}) == "已受理"


def test_a_two_item_list_is_a_pair_only_where_the_action_stores_pairs(zone: Zone) -> None:
    summary = audit.append(
        zone_id=zone.pk,
        actor=Actor.system(zone),
        action="hazardous.ship_out",
        model="hazardous.store",
        object_id="1",
        changes={"containers": ["C-1", "C-2"], "transfer": 7},
    )
    (shown,) = audit_display.readable([summary])
    containers = next(c for c in shown.changes if c.field == "containers")
    assert containers.old is None and containers.new == "C-1、C-2"


# --- Filters, visibility, export ------------------------------------------------------------------


@pytest.fixture
def two_streets(zone: Zone, streets: dict[str, Area]) -> dict[str, object]:
    office = parties.make_org(zone, roles=("regulator",), name="荣华街道办事处", area_id=streets["rh"].pk)
    member = parties.make_member(office, "admin", jurisdiction=streets["rh"])
    in_rh = parties.make_org(zone, name="荣华甲公司", area_id=streets["rh"].pk)
    in_bx = parties.make_org(zone, name="博兴丙公司", area_id=streets["bx"].pk)
    parties.token_for(in_rh, ("read",))
    parties.token_for(in_bx, ("read",))
    return {"member": member, "in_rh": in_rh, "in_bx": in_bx}


def test_filters_narrow_and_a_street_regulator_never_sees_more(
    zone: Zone, two_streets: dict[str, object]
) -> None:
    member, in_rh, in_bx = two_streets["member"], two_streets["in_rh"], two_streets["in_bx"]
    assert (
        isinstance(member, Membership) and isinstance(in_rh, Organization) and isinstance(in_bx, Organization)
    )
    actor = actor_for_membership(member)
    visible = set(visible_audit_entries(actor).values_list("pk", flat=True))

    def found(**data: object) -> set[int]:
        return set(
            audit_display.search(actor, audit_display.filter_form(actor, data)).values_list("pk", flat=True)
        )

    assert found() == visible
    by_rh = found(organization=in_rh.pk)
    assert by_rh and by_rh <= visible
    assert {e.model for e in AuditEntry.objects.filter(pk__in=by_rh)} >= {
        "core.organization",
        "core.apitoken",
    }
    assert found(action="token.create") <= visible and found(action="token.create")
    assert found(model="core.organization", object_id=str(in_rh.pk)) == set(
        AuditEntry.objects.filter(model="core.organization", object_id=str(in_rh.pk)).values_list(
            "pk", flat=True
        )
    )
    assert found(user="nobody") == set()
    today = date.today()
    assert (
        found(date_from=today.replace(year=today.year - 1), date_to=today.replace(year=today.year + 1))
        == visible
    )
    assert found(date_from="2000-01-01", date_to="2000-01-02") == set()
    # Another street's organization is not a choice: the filter is refused, it never widens the view.
    with pytest.raises(audit_display.Invalid) as refused:
        found(organization=in_bx.pk)
    assert refused.value.errors[0]["field"] == "organization"
    # Entries about the other street's company stay hidden whatever the filter.
    hidden = set(
        AuditEntry.objects.filter(model="core.organization", object_id=str(in_bx.pk)).values_list(
            "pk", flat=True
        )
    )
    assert not hidden & found(model="core.organization", object_id=str(in_bx.pk))
    client = _session(member)
    page = client.get("/audit/", {"organization": in_bx.pk})
    assert page.status_code == 200 and "博兴丙公司" not in page.content.decode().split("<table")[1]
    api = client.get("/api/audit", {"organization_id": in_bx.pk})
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "organization"
    api = client.get("/api/audit", {"model": "core.organization", "object_id": str(in_bx.pk)})
    assert api.status_code == 200 and api.json()["count"] == 0


def test_bad_filters_name_the_field(zone: Zone, regulator: Membership) -> None:
    client = _session(regulator)
    for params, fieldname in (
        ({"date_from": "2020-13-01"}, "date_from"),
        ({"date_from": "2021-01-02", "date_to": "2021-01-01"}, "date_to"),
        ({"action": "no.such"}, "action"),
    ):
        page = client.get("/audit/", params)
        assert page.status_code == 200 and 'class="error"' in page.content.decode(), params
        api = client.get("/api/audit", params)
        assert api.status_code == 422, (params, api.content[:200])
        assert api.json()["errors"][0]["field"] == fieldname
        assert client.get("/audit/export/", params).status_code == 400


def test_the_api_gives_readable_names_beside_the_raw_fields(zone: Zone, regulator: Membership) -> None:
    org = parties.make_org(zone, name="接收丙公司")
    _accept_entry(zone, org)
    client = _session(regulator)
    body = client.get("/api/audit", {"action": "transfer.accept"}).json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item["action"] == "transfer.accept" and item["action_label"] == "接收联单"
    assert item["record_label"] == "联单 #4413" and item["changes"]["signed_at"]
    readable = {c["field"]: c for c in item["changes_readable"]}
    assert readable["signed_at"] == {
        "field": "signed_at",
        "label": "签字时间",
        "value": "2020-06-01 10:30:00",
        "old": None,
    }
    assert readable["state"]["old"] == "已送达" and readable["state"]["value"] == "已关闭"
    english = client.get("/api/audit", {"action": "transfer.accept"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["items"][0]["action_label"] == "Accept a manifest"


def test_the_filtered_log_exports_to_excel_and_csv(zone: Zone, regulator: Membership) -> None:
    org = parties.make_org(zone, name="=HYPERLINK(1)")
    _accept_entry(zone, org)
    client = _session(regulator)
    for url in ("/audit/export/", "/api/audit/export"):
        xlsx = client.get(url, {"action": "transfer.accept", "format": "xlsx"})
        assert xlsx.status_code == 200, xlsx.content[:200]
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 2 and rows[0][0] == "序号"
        assert "接收联单" in rows[1] and "12,345.500 吨" in str(rows[1][7])
        assert all(not str(v).startswith("=") for row in rows for v in row if v is not None)
        text = client.get(url, {"format": "csv"}).content.decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text)))
        assert len(lines) == AuditEntry.objects.filter(zone_id=zone.pk).count() + 1
        assert any("登记单位" in line for line in lines)


def test_the_command_line_filters_and_reads(
    zone: Zone, regulator: Membership, capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    org = parties.make_org(zone, name="接收丁公司")
    _accept_entry(zone, org)
    call_command("audit", "log", "--zone", zone.code, "--action", "transfer.accept", "--format", "json")
    rows = json.loads(capsys.readouterr().out)
    assert (
        len(rows) == 1
        and rows[0]["action_label"] == "接收联单"
        and rows[0]["changes"]["quantity_t"] == "12345.5"
    )
    call_command("audit", "log", "--zone", zone.code, "--action", "transfer.accept")
    text = capsys.readouterr().out
    assert "接收联单" in text and "12,345.500 吨" in text and "签字时间: 2020-06-01 10:30:00" in text
    call_command("audit", "log", "--zone", zone.code, "--organization", org.uscc)
    text = capsys.readouterr().out
    assert "登记单位 单位 接收丁公司" in text and "接收联单" not in text
    call_command("audit", "log", "--zone", zone.code, "--action", "transfer.accept", "--lang", "en")
    assert "Accept a manifest" in capsys.readouterr().out
    target = tmp_path / "log.xlsx"
    call_command("audit", "log", "--zone", zone.code, "--export", str(target))
    assert load_workbook(target).active is not None
