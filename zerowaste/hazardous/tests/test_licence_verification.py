"""Only verified HW operating licences count in the pilot (issue 15, defect 6): a producer's own
facility licence, and the licence that makes a contracted receiver a waste's disposal route."""

from __future__ import annotations

from datetime import date

import pytest

from zerowaste.core import licences
from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Licence, Organization, Site
from zerowaste.hazardous import facilities, services
from zerowaste.hazardous.testing import Park
from zerowaste.testing import parties

TODAY = date(2026, 6, 1)


def self_entered(org: Organization, number: str) -> Licence:
    return core.add_licence(
        parties.actor_of(org, "admin"),
        org.pk,
        kind="hw_operating",
        number=number,
        issuer="生态环境局",
        valid_from=date(2015, 1, 1),
        valid_to=date(2035, 12, 31),
        waste_codes=["HW49", "HW06"],
    )


def test_a_facility_needs_a_verified_licence(park: Park, english: None) -> None:
    licence = self_entered(park.producer, "京环危自报F1")
    site = Site.objects.create(
        zone_id=park.zone.pk, organization=park.producer, name="一号厂区", kind="plant"
    )
    data = {
        "site_id": site.pk,
        "mode": "own_plant",
        "activity": "disposal",
        "method": "焚烧",
        "waste_codes": ["HW49"],
        "eia_approval_number": "京技环审字[2019]0001号",
        "eia_approval_date": "2019-06-01",
        "licence_id": licence.pk,
    }
    clerk = park.actor(park.producer, "clerk")
    with pytest.raises(Invalid) as exc:
        facilities.register_facility(clerk, data=data)
    assert exc.value.errors[0]["field"] == "licence_id"
    assert "pending verification" in exc.value.message
    Licence.objects.filter(pk=licence.pk).update(status="verified")
    assert facilities.register_facility(clerk, data=data).licence_id == licence.pk


def test_a_contracted_receiver_with_an_unverified_licence_is_no_disposal_route(park: Park) -> None:
    receiver = parties.make_org(park.zone, roles=("receiver",))
    licence = self_entered(receiver, "京环危自报R1")
    services.add_contract(
        park.actor(park.operator, "admin"),
        park.store.pk,
        data={
            "receiver_id": receiver.pk,
            "number": "合同-自报-1",
            "categories": ["HW49"],
            "valid_from": "2015-01-01",
            "valid_to": "2035-12-31",
        },
    )
    assert receiver.pk not in services.contracted_receivers(park.operator.pk, "900-041-49", "HW49", TODAY)
    licences.upload_scan(
        parties.actor_of(receiver), receiver.pk, licence.pk, content=b"%PDF-1.4\n%%EOF", filename="c.pdf"
    )
    licences.verify_licence(Actor.system(park.zone), receiver.pk, licence.pk)
    assert receiver.pk in services.contracted_receivers(park.operator.pk, "900-041-49", "HW49", TODAY)
