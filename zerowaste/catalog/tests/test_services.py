"""Catalog services on the database: the bundled catalogs, validation, import, diff and publishing."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from zerowaste.catalog import services
from zerowaste.catalog.models import CatalogCategory, CatalogEntry, CatalogVersion, CodeMapping
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Conflict, Forbidden, Invalid
from zerowaste.core.models import AuditEntry
from zerowaste.core.tabular import ImportRejected
from zerowaste.testing import parties

# These tests assert messages by their English wording.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _isw(zone) -> CatalogVersion:  # type: ignore[no-untyped-def]
    return CatalogVersion.objects.get(zone=zone, stream="isw", label="2020")


def _csv(
    rows: list[list[str]], header: tuple[str, ...] = ("废物类别", "废物代码", "废物名称", "原代码", "备注")
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_isw_catalog_exactly_as_published(catalogs) -> None:  # type: ignore[no-untyped-def]
    version = _isw(catalogs)
    assert version.is_published and version.effective_from == date(2020, 9, 23)
    entries = CatalogEntry.objects.filter(version=version)
    assert entries.count() == 81
    assert CatalogCategory.objects.filter(version=version).count() == 14
    codes = list(entries.order_by("position").values_list("code", flat=True))
    assert codes[0] == "99-01-01" and codes[-3:] == ["07-13-01", "07-13-02", "99-14-01"]
    names = dict(entries.values_list("code", "name"))
    assert names["99-08-03"] == "废铜"
    assert names["99-02-03"] == "废锂电池(电池组)"
    assert names["99-09-07"] == "聚酯瓶（PET）"
    assert names["07-13-02"] == "一般工业污泥"
    assert names["99-12-11"] == "填充物"
    cats = dict(CatalogCategory.objects.filter(version=version).values_list("code", "name"))
    assert cats["ISW01"] == "电子行业废物" and cats["ISW13"] == "污泥" and cats["ISW14"] == "其他"
    assert entries.get(code="99-08-03").category.code == "ISW08"


def test_isw_source_defects_reported_and_kept(catalogs) -> None:  # type: ignore[no-untyped-def]
    version = _isw(catalogs)
    kinds = {(w["code"], w["kind"]) for w in version.warnings}
    assert ("99-07-01", "name_missing") in kinds
    assert ("99-06-04", "duplicate_name") in kinds and ("99-06-05", "duplicate_name") in kinds
    assert ("99-14-01", "free_text") in kinds
    missing = CatalogEntry.objects.get(version=version, code="99-07-01")
    assert missing.name == "" and missing.name_en == "" and "name_missing" in missing.flags
    other = CatalogEntry.objects.get(version=version, code="99-14-01")
    assert other.requires_free_text
    check = services.code_valid(catalogs.pk, "isw", "99-14-01", date(2021, 3, 1), free_text=" ")
    assert not check.ok and "free-text" in check.message
    assert services.code_valid(catalogs.pk, "isw", "99-14-01", date(2021, 3, 1), free_text="废砂纸").ok
    assert not services.code_valid(catalogs.pk, "isw", "99-07-01", date(2021, 3, 1), free_text="").ok


def test_national_hazardous_list(catalogs) -> None:  # type: ignore[no-untyped-def]
    version = CatalogVersion.objects.get(zone=catalogs, stream="hw")
    assert CatalogEntry.objects.filter(version=version).count() == 467
    assert CatalogCategory.objects.filter(version=version).count() == 46
    packaging = CatalogEntry.objects.get(version=version, code="900-041-49")
    assert packaging.category.code == "HW49" and packaging.category.name == "其他废物"
    assert packaging.hazard.possible == ("T", "In") and packaging.hazard.one_or_more
    solvent = CatalogEntry.objects.filter(version=version, hazard_raw="T,I").first()
    assert solvent is not None and solvent.hazard.primary == ("T",) and solvent.hazard.possible == ("I",)
    assert CatalogEntry.objects.get(version=version, code="900-249-08").category.code == "HW08"


def test_household_and_construction(catalogs) -> None:  # type: ignore[no-untyped-def]
    household = CatalogVersion.objects.get(zone=catalogs, stream="household")
    colours = dict(CatalogCategory.objects.filter(version=household).values_list("code", "colour"))
    assert colours == {
        "kitchen": "green",
        "recyclable": "blue",
        "hazardous": "red",
        "other": "grey",
        "bulky": "",
        "renovation": "",
    }
    kinds = set(
        CatalogEntry.objects.filter(version=household, category__code="recyclable").values_list(
            "code", flat=True
        )
    )
    assert {
        "recyclable.paper",
        "recyclable.plastic",
        "recyclable.glass",
        "recyclable.metal",
        "recyclable.ewaste",
        "recyclable.textile",
    } <= kinds
    construction = CatalogVersion.objects.get(zone=catalogs, stream="construction")
    assert set(CatalogEntry.objects.filter(version=construction).values_list("code", flat=True)) == {
        "spoil",
        "mud",
        "works",
        "demolition",
        "renovation",
    }
    assert services.resolve(catalogs.pk, "kitchen", date(2021, 6, 1)).name == "厨余垃圾"


def test_loading_twice_changes_nothing(catalogs) -> None:  # type: ignore[no-untyped-def]
    assert services.load_standard_catalogs(Actor.system(catalogs)) == []
    assert CatalogVersion.objects.filter(zone=catalogs).count() == 4


def test_code_valid_and_resolve(catalogs) -> None:  # type: ignore[no-untyped-def]
    check = services.code_valid(catalogs.pk, "isw", "99-08-03", date(2021, 5, 1))
    assert (
        check.ok and check.entry is not None and check.version is not None and check.version.label == "2020"
    )
    # The first version also answers for records dated before it.
    assert services.code_valid(catalogs.pk, "hw", "900-041-49", date(2019, 5, 1)).ok
    assert not services.code_valid(catalogs.pk, "isw", "99-99-99", date(2021, 5, 1)).ok
    bad = services.code_valid(catalogs.pk, "isw", "9908", date(2021, 5, 1))
    assert not bad.ok and "NN-NN-NN" in bad.message
    assert services.resolve(catalogs.pk, "900-041-49", date(2021, 5, 1)).category.code == "HW49"
    with pytest.raises(Invalid) as exc:
        services.resolve(catalogs.pk, "99-99-99", date(2021, 5, 1))
    assert exc.value.errors[0]["field"] == "waste_code"


def test_catalogs_are_per_zone(catalogs, other_zone) -> None:  # type: ignore[no-untyped-def]
    check = services.code_valid(other_zone.pk, "isw", "99-08-03", date(2021, 5, 1))
    assert not check.ok and "no isw catalog" in check.message


def _export_rows(zone) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [
        [e.category.code, e.code, e.name, "", e.remark]
        for e in CatalogEntry.objects.filter(version=_isw(zone))
        .select_related("category")
        .order_by("position")
    ]


def test_new_version_diff_publish_and_retirement(catalogs) -> None:  # type: ignore[no-untyped-def]
    regulator = parties.actor_of(parties.make_org(catalogs, roles=["regulator"]))
    rows = _export_rows(catalogs)
    rows = [r for r in rows if r[1] not in ("99-01-06", "99-02-09")]  # 99-01-06 retired; 99-02-09 re-coded
    for r in rows:
        if r[1] == "99-07-01":
            r[2] = "废办公设备"  # the missing name, fixed
    rows.append(["ISW02", "99-02-10", "废轮胎及内胎", "99-02-09"])
    rows.append(["ISW08", "99-08-07", "废锌", ""])
    result = services.import_version(
        regulator, stream="isw", label="2021", content=_csv(rows), filename="isw.csv"
    )
    assert result.version.status == "draft" and result.entries == 81
    diff = result.diff
    assert diff is not None
    assert [e.code for e in diff.added] == ["99-08-07"]
    assert [e.code for e in diff.retired] == ["99-01-06"]
    assert [(o.code, n.name) for o, n in diff.renamed] == [("99-07-01", "废办公设备")]
    assert [(o.code, n.code) for o, n in diff.recoded] == [("99-02-09", "99-02-10")]
    # The draft is not in force: records keep validating against 2020.
    assert services.code_valid(catalogs.pk, "isw", "99-01-06", date(2022, 1, 1)).ok

    with pytest.raises(Invalid):
        services.publish(regulator, result.version.pk, date(2020, 1, 1))  # before the version in force
    services.publish(regulator, result.version.pk, date(2021, 9, 1))
    assert services.code_valid(catalogs.pk, "isw", "99-01-06", date(2021, 8, 31)).ok
    refused = services.code_valid(catalogs.pk, "isw", "99-01-06", date(2021, 9, 1))
    assert not refused.ok and "retired" in refused.message and "2021" in refused.message
    recoded = services.code_valid(catalogs.pk, "isw", "99-02-09", date(2021, 10, 1))
    assert not recoded.ok and recoded.replaced_by == "99-02-10" and "2021" in recoded.message
    assert services.resolve(catalogs.pk, "99-08-07", date(2021, 10, 1)).name == "废锌"
    kinds = dict(CodeMapping.objects.filter(zone=catalogs, stream="isw").values_list("from_code", "kind"))
    assert kinds == {"99-01-06": "retired", "99-02-09": "recoded", "99-07-01": "renamed"}
    detail = services.entry_detail(catalogs.pk, "isw", "99-02-09")
    assert [m.to_code for m in detail.mappings] == ["99-02-10"]
    assert {e.version.label for e in services.entry_detail(catalogs.pk, "isw", "99-08-03").occurrences} == {
        "2020",
        "2021",
    }
    actions = list(
        AuditEntry.objects.filter(
            zone_id=catalogs.pk, model="catalog.catalogversion", object_id=str(result.version.pk)
        ).values_list("action", flat=True)
    )
    assert actions == ["catalog.import", "catalog.publish"]
    with pytest.raises(Conflict):
        services.publish(regulator, result.version.pk, date(2022, 1, 1))


def test_fix_a_draft_then_publish(catalogs) -> None:  # type: ignore[no-untyped-def]
    regulator = parties.actor_of(parties.make_org(catalogs, roles=["regulator"]))
    rows = [r for r in _export_rows(catalogs) if r[1] != "99-11-02"]
    rows.append(["ISW11", "99-11-03", "废荧光灯管", ""])
    draft = services.import_version(
        regulator, stream="isw", label="2022", content=_csv(rows), filename="isw.csv"
    ).version
    services.set_recode(regulator, draft.pk, "99-11-02", "99-11-03")
    services.update_draft_entry(
        regulator, draft.pk, "99-07-01", name="废办公设备", name_en="Waste office equipment"
    )
    _v, _base, diff = services.diff_version(catalogs.pk, draft.pk, actor=regulator)
    assert [(o.code, n.code) for o, n in diff.recoded] == [("99-11-02", "99-11-03")]
    assert not diff.retired
    with pytest.raises(Invalid):
        services.update_draft_entry(regulator, draft.pk, "99-07-02", category="ISW99")
    services.publish(regulator, draft.pk, date(2022, 1, 1))
    assert services.resolve(catalogs.pk, "99-07-01", date(2022, 2, 1)).name_en == "Waste office equipment"
    with pytest.raises(Conflict):
        services.update_draft_entry(regulator, draft.pk, "99-07-01", name="x")


def test_malformed_file_reports_every_fault_and_writes_nothing(catalogs) -> None:  # type: ignore[no-untyped-def]
    regulator = parties.actor_of(parties.make_org(catalogs, roles=["regulator"]))
    before = (CatalogVersion.objects.count(), CatalogEntry.objects.count(), AuditEntry.objects.count())
    content = _csv(
        [
            ["ISW01 电子行业废物", "99-01-01", "废硅片", ""],
            ["ISW01", "99-01-01", "偏光片", ""],  # row 3: duplicate code
            ["ISW01", "99-1-02", "偏光膜", ""],  # row 4: breaks the pattern
            ["ISW42", "99-42-01", "无此类", ""],  # row 5: category that doesn't exist
            ["ISW01", "99-01-04", "", ""],  # row 6: empty name
        ]
    )
    with pytest.raises(ImportRejected) as exc:
        services.import_version(regulator, stream="isw", label="bad", content=content, filename="bad.csv")
    faults = {(f.row, f.column, f.field) for f in exc.value.faults}
    assert faults == {(3, "B", "code"), (4, "B", "code"), (5, "A", "category"), (6, "C", "name")}
    assert (
        CatalogVersion.objects.count(),
        CatalogEntry.objects.count(),
        AuditEntry.objects.count(),
    ) == before


def test_only_the_regulator_imports_and_publishes(catalogs) -> None:  # type: ignore[no-untyped-def]
    producer = parties.actor_of(parties.make_org(catalogs, roles=["producer"]))
    with pytest.raises(Forbidden):
        services.import_version(producer, stream="isw", label="x", content=b"a,b\n1,2", filename="x.csv")
    with pytest.raises(Forbidden):
        services.publish(producer, _isw(catalogs).pk, date(2030, 1, 1))
    viewer = parties.actor_of(parties.make_org(catalogs, roles=["regulator"]), role="viewer")
    with pytest.raises(Forbidden):
        services.load_standard_catalogs(viewer)


def test_search(catalogs) -> None:  # type: ignore[no-untyped-def]
    def codes(q: str, **kw: object) -> list[str]:
        return [e.code for e in services.search(catalogs.pk, q, **kw).entries]  # type: ignore[arg-type]

    assert codes("废铜")[0] == "99-08-03"
    assert set(codes("99-08")) == {f"99-08-0{i}" for i in range(1, 7)}
    assert codes("900-041") == ["900-041-49"]
    assert codes("HW49")[0].endswith("-49") and all(c.endswith("-49") for c in codes("HW49"))
    assert "99-08-03" in codes("copper")
    assert "recyclable.paper" in codes("paper", stream="household")
    infectious = codes("", hazard="In")
    assert "841-001-01" in infectious and "900-041-49" in infectious
    assert all(c.startswith("99-09") for c in codes("", category="ISW09"))
    with pytest.raises(Invalid):
        services.search(catalogs.pk, "", hazard="X")


@pytest.mark.parametrize("query", ["", "废", "99-08", "HW49", "900-041", "waste oil", "T"])
def test_search_query_count_is_constant(catalogs, query: str) -> None:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        services.search(catalogs.pk, query, hazard="T" if query == "T" else None)
    assert len(ctx.captured_queries) == 3


def test_export_imports_back_unchanged(catalogs) -> None:  # type: ignore[no-untyped-def]
    regulator = parties.actor_of(parties.make_org(catalogs, roles=["regulator"]))
    filename, content = services.export_xlsx(catalogs.pk, "hw")
    assert filename == "catalog-hw-2021.xlsx" and content[:2] == b"PK"
    result = services.import_version(
        regulator, stream="hw", label="2021-copy", content=content, filename=filename
    )
    assert result.entries == 467 and result.categories == 46
    assert result.diff is not None and result.diff.is_empty
