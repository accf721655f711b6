"""English names of the bundled national hazardous waste list 2021 (the project's own translation)."""

from __future__ import annotations

import csv

import pytest

from zerowaste.catalog import services
from zerowaste.catalog.models import CatalogEntry, CatalogVersion
from zerowaste.core.authz import Actor

SOURCE = services.DATA_DIR / "national_hazardous_waste_list_2021.csv"
ENGLISH = services.DATA_DIR / "national_hazardous_waste_list_2021.en.csv"


def _rows(path) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_english_file_has_exactly_the_codes_of_the_list_in_its_order() -> None:
    source_codes = [r["waste_code"] for r in _rows(SOURCE)]
    english = _rows(ENGLISH)
    assert list(english[0]) == ["code", "name_en"]
    assert len(source_codes) == 467
    assert [r["code"] for r in english] == source_codes
    assert len({r["code"] for r in english}) == 467
    for row in english:
        name = row["name_en"]
        assert name and name == " ".join(name.split()), row["code"]
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in name), row["code"]
        # The column is varchar(300); SQLite would not say so, PostgreSQL would.
        assert len(name) <= CatalogEntry._meta.get_field("name_en").max_length, row["code"]  # type: ignore[operator]


def test_english_file_is_the_loaders() -> None:
    hw = next(std for std in services.STANDARD_CATALOGS if std.stream == "hw")
    assert services.DATA_DIR / hw.names_en_file == ENGLISH
    names = services.read_names_en(hw.names_en_file)
    assert len(names) == 467
    assert names["900-041-49"].startswith("Discarded packaging, containers and filter/adsorption media")


@pytest.mark.django_db
def test_every_hw_entry_has_an_english_name_after_loading(catalogs) -> None:  # type: ignore[no-untyped-def]
    version = CatalogVersion.objects.get(zone=catalogs, stream="hw")
    entries = dict(CatalogEntry.objects.filter(version=version).values_list("code", "name_en"))
    assert len(entries) == 467
    assert [code for code, name_en in entries.items() if not name_en] == []
    expected = {r["code"]: r["name_en"] for r in _rows(ENGLISH)}
    assert entries == expected
    # The Chinese names are untouched.
    packaging = CatalogEntry.objects.get(version=version, code="900-041-49")
    assert packaging.name == "含有或沾染毒性、感染性危险废物的废弃包装物、容器、过滤吸附介质"


@pytest.mark.django_db
def test_english_search_finds_hw_entries(catalogs) -> None:  # type: ignore[no-untyped-def]
    def codes(q: str, **kw: object) -> list[str]:
        return [e.code for e in services.search(catalogs.pk, q, **kw).entries]  # type: ignore[arg-type]

    assert "900-041-49" in codes("packaging", stream="hw")
    assert "900-041-49" in codes("infectious packaging")
    assert "900-249-08" in codes("mineral oil", stream="hw")
    assert codes("lead-acid batteries", stream="hw")[:1] == ["900-052-31"]


@pytest.mark.django_db
def test_entries_missing_from_the_english_names_keep_an_empty_name(zone) -> None:  # type: ignore[no-untyped-def]
    content = SOURCE.read_bytes()
    result = services.import_version(
        Actor.system(zone),
        stream="hw",
        label="partial",
        content=content,
        filename=SOURCE.name,
        entry_names_en={"900-041-49": "Packaging"},
    )
    names = dict(CatalogEntry.objects.filter(version=result.version).values_list("code", "name_en"))
    assert names["900-041-49"] == "Packaging"
    assert names["841-001-01"] == ""
