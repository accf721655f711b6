"""The January tier recomputation is a scheduled task, never a side effect of a read (issue 16, item 2)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from zerowaste.core.models import AuditEntry
from zerowaste.hazardous import services
from zerowaste.hazardous.models import TierAssessment
from zerowaste.hazardous.tasks import january_tiers_task
from zerowaste.hazardous.testing import Park
from zerowaste.hazardous.tests.test_services import declare
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("hazardous", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_reading_tiers_writes_nothing_by_page_api_or_command(park: Park, client: Client) -> None:
    declare(park.producer, timezone.localdate().year - 1, [("0", "5", "0")])
    entries = AuditEntry.objects.count()
    assert services.tiers(park.system, timezone.localdate().year) == []
    assert "A 0 · B 0 · C 0" in run("tiers", "--zone", park.zone.code)
    client.force_login(parties.make_member(park.regulator, "admin").user)
    page = client.get("/hazardous/tiers/")
    assert page.status_code == 200 and b'id="no-tiers"' in page.content and b'id="recompute"' in page.content
    assert client.get("/api/hazardous/tiers", {"year": timezone.localdate().year}).json() == []
    assert TierAssessment.objects.count() == 0
    assert AuditEntry.objects.count() == entries


def test_the_january_task_computes_the_years_tiers_once_with_its_audit_entries(park: Park) -> None:
    year = timezone.localdate().year
    declare(park.producer, year - 1, [("0", "5", "0")])
    done = january_tiers_task.enqueue(park.zone.pk).return_value
    assert done is not None and done["written"] > 0
    a = TierAssessment.objects.get(producer=park.producer, year=year)
    assert (a.tier, a.trigger) == ("B", "january")
    computed = AuditEntry.objects.filter(action="hazardous.tier.compute").count()
    assert computed == done["written"]
    # the cron line runs it again: nothing more is written or audited
    again = json.loads(run("tiers", "--january", "--format", "json", "--zone", park.zone.code))
    assert again["written"] == 0
    assert AuditEntry.objects.filter(action__startswith="hazardous.tier.").count() == computed
