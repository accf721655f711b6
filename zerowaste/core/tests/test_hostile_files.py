"""Every importer is fed every hostile file (zerowaste.testing.hostile): bombs, a million rows, 200k
rows, control characters, wrong encodings. Each is refused with a clear 4xx naming the problem, in
bounded memory, and nothing is written (no table gains a row, the audit log included).

The importers are every upload route of the OpenAPI schema (a new one fails
`test_every_upload_route_is_fed_hostile_files` until it is listed here) and the commands behind them.
"""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from zerowaste.core.models import Organization, Zone
from zerowaste.testing import hostile, isolation, parties

PEAK_BYTES = 150 * 1024 * 1024  # Python allocations while serving one hostile file
# Image uploads: test_images.py feeds the photos, test_licence_verification.py the certificate scans.
IMAGE_ROUTES = {
    "POST /api/exchange/supply/{supply_listing_id}/photos",
    "POST /api/organizations/{organization_id}/licences/{licence_id}/scan",
}


@dataclass(frozen=True)
class World:
    zone: Zone
    regulator: parties.ApiClient
    producer: parties.ApiClient
    regulator_org: Organization


def _upload(name: str, content: bytes) -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def _post(client: parties.ApiClient, path: str, data: dict[str, object]) -> object:
    return client.client.post(
        path, data, headers={"Authorization": f"Bearer {client.token}", "Accept-Language": "en"}
    )


@dataclass(frozen=True)
class Importer:
    route: str  # the OpenAPI operation
    headers: list[str]
    row: list[str]
    send: Callable[[World, str, bytes], object]


IMPORTERS = [
    Importer(
        "POST /api/organizations/import",
        ["统一社会信用代码", "单位名称", "角色"],
        ["91110000600037341L", "单位", "产废单位"],
        lambda w, n, c: _post(w.regulator, "/api/organizations/import", {"file": _upload(n, c)}),
    ),
    Importer(
        "POST /api/catalog/imports",
        ["废物类别", "废物代码", "废物名称"],
        ["SW01", "99-01-01", "废物"],
        lambda w, n, c: _post(
            w.regulator, "/api/catalog/imports", {"file": _upload(n, c), "stream": "isw", "label": "hostile"}
        ),
    ),
    Importer(
        "POST /api/declarations/import",
        ["申报期", "废物代码", "产生量", "期末贮存量"],
        ["2020-03", "99-01-01", "1", "0"],
        lambda w, n, c: _post(
            w.producer, "/api/declarations/import", {"file": _upload(n, c), "dry_run": True}
        ),
    ),
    Importer(
        "POST /api/transfers/import",
        ["类别", "接收单位代码", "运输单位代码", "废物代码", "数量(吨)"],
        ["isw", "91110000600037341L", "91110000600037341L", "99-01-01", "1"],
        lambda w, n, c: _post(w.producer, "/api/transfers/import", {"file": _upload(n, c)}),
    ),
    Importer(
        "POST /api/household/registry/import",
        ["户号", "社区", "地址", "人口"],
        ["rh-c01-00001", "rh-c01", "1号楼", "3"],
        lambda w, n, c: _post(w.regulator, "/api/household/registry/import", {"file": _upload(n, c)}),
    ),
]


def _row_counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models() if m._meta.managed}


@pytest.fixture
def world(zone: Zone) -> World:
    regulator = parties.make_org(zone, roles=("regulator",))
    producer = parties.make_org(zone, roles=("producer",))
    world = World(zone, parties.api_client(regulator), parties.api_client(producer), regulator)
    # Warm up: the first request of a process imports and builds every router (not a file's cost).
    world.regulator.client.get(
        "/api/organizations", headers={"Authorization": f"Bearer {world.regulator.token}"}
    )
    return world


def _case_params() -> list[object]:
    cases: list[object] = []
    for importer in IMPORTERS:
        for case in hostile.HOSTILE:
            marks = [pytest.mark.slow] if case.heavy else []
            cases.append(pytest.param(importer, case, id=f"{importer.route}-{case.name}", marks=marks))
    return cases


def _refusal_text(response: object) -> str:
    body = response.json()  # type: ignore[attr-defined]
    return " ".join([str(body.get("detail", "")), *(str(e) for e in body.get("errors", []))])


@pytest.mark.parametrize(("importer", "case"), _case_params())
def test_every_importer_refuses_every_hostile_file(
    world: World, importer: Importer, case: hostile.Hostile
) -> None:
    name, content = case.build(importer.headers, importer.row)
    before = _row_counts()
    tracemalloc.start()
    try:
        response = importer.send(world, name, content)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    status = response.status_code  # type: ignore[attr-defined]
    assert 400 <= status < 500, (status, response.content[:500])  # type: ignore[attr-defined]
    text = _refusal_text(response)
    assert any(word in text for word in case.expect), text
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB"
    assert _row_counts() == before


def test_every_upload_route_is_fed_hostile_files() -> None:
    """A new upload route of the API must join IMPORTERS (or the image tests): hostile files are
    then fed to it too."""
    schema = isolation.load_schema(Client())
    uploads = set()
    for path, operations in schema["paths"].items():
        for method, spec in operations.items():
            content = (spec.get("requestBody") or {}).get("content", {})
            form = content.get("multipart/form-data", {}).get("schema", {})
            if any(p.get("format") == "binary" for p in form.get("properties", {}).values()):
                uploads.add(f"{method.upper()} {path}")
    assert uploads == {i.route for i in IMPORTERS} | IMAGE_ROUTES


CLI_CASES = [c for c in hostile.HOSTILE if not c.size_limited]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
@pytest.mark.parametrize(
    ("command", "importer"),
    [
        (["org", "import"], IMPORTERS[0]),
        (["catalog", "import", "--stream", "isw", "--version", "hostile"], IMPORTERS[1]),
        (["declarations", "import", "--dry-run"], IMPORTERS[2]),
    ],
    ids=["org", "catalog", "declarations"],
)
def test_the_commands_refuse_hostile_files(
    world: World, tmp_path: Path, command: list[str], importer: Importer, case: hostile.Hostile, english: None
) -> None:
    name, content = case.build(importer.headers, importer.row)
    path = tmp_path / name
    path.write_bytes(content)
    before = _row_counts()
    tracemalloc.start()
    try:
        with pytest.raises(SystemExit) as exited:
            call_command(
                *command[:2], str(path), *command[2:], "--zone", world.zone.code, stderr=io.StringIO()
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert exited.value.code != 0
    assert peak < PEAK_BYTES, f"{peak / 1e6:.0f} MB"
    assert _row_counts() == before


def test_the_organization_import_page_answers_422_with_the_faults(world: World, english: None) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    client.force_login(parties.make_member(world.regulator_org).user)
    name, content = hostile.with_control(["统一社会信用代码", "单位名称", "角色"], ["x", "y", "z"], "\x00")
    before = _row_counts()
    response = client.post("/organizations/import/", {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="import-faults"' in html and "U+0000" in html
    assert _row_counts() == before
