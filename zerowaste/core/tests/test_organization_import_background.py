"""A large organization import is checked in the request (every fault, 422) and written in the
background (202 and a task id to poll), so that no request outlives the worker's timeout."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client

from zerowaste.core.models import AuditEntry, Organization, Zone
from zerowaste.testing import parties

HEADER = "统一社会信用代码,单位名称,角色\n"


def _file(n: int) -> io.BytesIO:
    rows = "".join(f"{parties.make_uscc()},后台导入单位{i},产废单位\n" for i in range(n))
    upload = io.BytesIO((HEADER + rows).encode())
    upload.name = "orgs.csv"
    return upload


def _auth(client: parties.ApiClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}"}


@pytest.fixture
def regulator_org(zone: Zone) -> Organization:
    return parties.make_org(zone, roles=("regulator",))


@pytest.fixture
def regulator(regulator_org: Organization) -> parties.ApiClient:
    return parties.api_client(regulator_org)


def test_a_small_file_is_written_at_once(regulator: parties.ApiClient, settings: object) -> None:
    settings.ORGANIZATION_IMPORT_BACKGROUND_ROWS = 5  # type: ignore[attr-defined]
    response = regulator.client.post(
        "/api/organizations/import", {"file": _file(3)}, headers=_auth(regulator)
    )
    assert response.status_code == 201 and response.json()["created"] == 3


def test_a_large_file_is_written_in_the_background(regulator: parties.ApiClient, settings: object) -> None:
    settings.ORGANIZATION_IMPORT_BACKGROUND_ROWS = 2  # type: ignore[attr-defined]
    response = regulator.client.post(
        "/api/organizations/import", {"file": _file(3)}, headers=_auth(regulator)
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["task_id"] and body["rows"] == 3
    assert body["status"] == "SUCCESSFUL"  # the tests' immediate backend ran it already
    assert Organization.objects.filter(name__startswith="后台导入单位").count() == 3


def test_the_database_queue_reports_the_state_until_the_worker_is_done(
    zone: Zone,
    regulator_org: Organization,
    regulator: parties.ApiClient,
    settings: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.ORGANIZATION_IMPORT_BACKGROUND_ROWS = 2  # type: ignore[attr-defined]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # type: ignore[attr-defined]
    response = regulator.client.post(
        "/api/organizations/import", {"file": _file(3)}, headers=_auth(regulator)
    )
    assert response.status_code == 202
    task_id = response.json()["task_id"]
    assert response.json()["status"] == "READY"
    assert not Organization.objects.filter(name__startswith="后台导入单位").exists()
    status = regulator.client.get(f"/api/organizations/imports/{task_id}", headers=_auth(regulator))
    assert status.status_code == 200 and status.json()["status"] == "READY" and status.json()["rows"] == 3
    audited = AuditEntry.objects.count()
    # The worker closes stale connections between tasks: not the test's own (its transaction).
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    done = regulator.client.get(f"/api/organizations/imports/{task_id}", headers=_auth(regulator)).json()
    assert done["status"] == "SUCCESSFUL" and done["created"] == 3 and len(done["organization_ids"]) == 3
    assert Organization.objects.filter(name__startswith="后台导入单位").count() == 3
    assert AuditEntry.objects.count() == audited + 3  # each registration audited, by its author
    # Another zone's regulator does not see the task, nor does a producer.
    other = parties.api_client(parties.make_org(parties.make_zone(), roles=("regulator",)))
    assert other.client.get(f"/api/organizations/imports/{task_id}", headers=_auth(other)).status_code == 404
    producer = parties.api_client(parties.make_org(zone))
    assert (
        producer.client.get(f"/api/organizations/imports/{task_id}", headers=_auth(producer)).status_code
        == 404
    )
    page = Client()
    page.force_login(parties.make_member(regulator_org).user)
    html = page.get(f"/organizations/import/?task={task_id}").content.decode()
    assert 'id="import-task"' in html


def test_the_page_sends_a_large_file_to_the_background(zone: Zone, settings: object) -> None:
    settings.ORGANIZATION_IMPORT_BACKGROUND_ROWS = 2  # type: ignore[attr-defined]
    org = parties.make_org(zone, roles=("regulator",))
    client = Client()
    client.force_login(parties.make_member(org).user)
    response = client.post("/organizations/import/", {"file": _file(3)})
    assert response.status_code == 302 and "?task=" in response["Location"]
    assert client.get(response["Location"]).status_code == 200
    assert Organization.objects.filter(name__startswith="后台导入单位").count() == 3
