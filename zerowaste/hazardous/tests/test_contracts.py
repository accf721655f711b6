"""The two services other apps call: inspection_rates (indicator 31) and storage_alerts (cockpit)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from zerowaste.core.authz import Actor, actor_for_membership
from zerowaste.core.models import Area
from zerowaste.hazardous import services
from zerowaste.hazardous.models import Container
from zerowaste.hazardous.testing import Park
from zerowaste.testing import parties

pytestmark = pytest.mark.django_db


def test_inspection_rates_count_each_unit_once_with_its_latest_result(park: Park) -> None:
    reg = park.actor(park.regulator)
    others = [parties.make_org(park.zone, roles=("producer",)) for _ in range(3)]
    services.record_inspection(
        reg,
        data={
            "organization_id": park.producer.pk,
            "result": "failed",
            "findings": "台账不全",
            "inspected_on": "2020-03-01",
        },
    )
    services.record_inspection(
        reg, data={"organization_id": park.producer.pk, "result": "passed", "inspected_on": "2020-09-01"}
    )
    services.record_inspection(
        reg,
        data={
            "organization_id": others[0].pk,
            "result": "basically_passed",
            "findings": "标签不全",
            "inspected_on": "2020-05-01",
        },
    )
    services.record_inspection(
        reg,
        data={
            "organization_id": others[1].pk,
            "result": "failed",
            "findings": "超期贮存",
            "inspected_on": "2020-05-02",
        },
    )
    services.record_inspection(
        reg, data={"organization_id": others[2].pk, "result": "passed", "inspected_on": "2019-12-31"}
    )
    services.record_inspection(
        reg, data={"organization_id": park.operator.pk, "result": "passed", "inspected_on": "2020-06-01"}
    )
    rates = services.inspection_rates(park.zone.pk, 2020)
    assert rates == {"passed": 2, "basically_passed": 1, "failed": 1, "total": 4}
    assert all(isinstance(v, int) for v in rates.values())
    detail = services.pass_rates(reg, 2020)
    # producers: (1 + 0.7 × 1) / 3 = 56.67 %; operator: 1 / 1
    assert detail["producer"]["rate_percent"] == "56.67"
    assert detail["operator"]["rate_percent"] == "100.00"
    assert detail["all"]["rate_percent"] == "67.50"
    assert services.inspection_rates(park.zone.pk, 2020, subject="producer") == {
        "passed": 1,
        "basically_passed": 1,
        "failed": 1,
        "total": 3,
    }
    assert services.inspection_rates(park.zone.pk, 2020, subject="operator")["total"] == 1
    assert services.inspection_rates(park.zone.pk, 2019)["total"] == 1
    assert services.inspection_rates(park.zone.pk, 2021)["total"] == 0


def test_storage_alerts_levels_and_shape(park: Park) -> None:
    on = date(2021, 6, 30)
    old = park.collect(collected_on="2020-06-01", bay="A")  # 394 days: overdue
    warn = park.collect(collected_on="2020-09-30", bay="A")  # 273 days: warning (≥ 270)
    young = park.collect(collected_on="2021-01-10", bay="A")  # 171 days: fine
    alerts = services.storage_alerts(park.zone.pk, on)
    assert [a["container"] for a in alerts] == [old.number, warn.number]
    first = alerts[0]
    assert set(first) == {
        "container",
        "park",
        "code",
        "stored_on",
        "age_days",
        "deadline",
        "level",
        "quantity_t",
    }
    assert first == {
        "container": old.number,
        "park": park.park.name,
        "code": "900-041-49",
        "stored_on": "2020-06-01",
        "age_days": 394,
        "deadline": "2021-05-31",
        "level": "overdue",
        "quantity_t": "0.120",
    }
    assert alerts[1]["level"] == "warning" and alerts[1]["age_days"] == 273
    assert young.number not in {a["container"] for a in alerts}
    # Another zone sees none of them.
    other = parties.make_zone()
    assert services.storage_alerts(other.pk, on) == []


def test_storage_alerts_respect_configured_warnings_and_extensions(park: Park) -> None:
    c = park.collect(collected_on="2020-01-01", bay="A")
    services.configure_store(park.system, park.store.pk, data={"warning_days": "200, 300"})
    assert services.storage_alerts(park.zone.pk, date(2020, 7, 18)) == []  # day 199
    assert services.storage_alerts(park.zone.pk, date(2020, 7, 19))[0]["level"] == "warning"  # day 200
    assert services.storage_alerts(park.zone.pk, date(2020, 12, 31))[0]["level"] == "warning"  # last day
    assert services.storage_alerts(park.zone.pk, date(2021, 1, 1))[0]["level"] == "overdue"
    services.approve_extension(
        park.actor(park.regulator),
        c.pk,
        data={"until": "2021-06-30", "document": "京经环审〔2020〕12号", "reason": "处置单位检修"},
    )
    assert services.storage_alerts(park.zone.pk, date(2021, 1, 1)) == []
    assert services.storage_alerts(park.zone.pk, date(2021, 1, 17))[0]["level"] == "warning"
    assert services.storage_alerts(park.zone.pk, date(2021, 6, 30))[0]["deadline"] == "2021-06-30"
    assert services.storage_alerts(park.zone.pk, date(2021, 7, 1))[0]["level"] == "overdue"


def test_shipped_containers_raise_no_alert(park: Park) -> None:
    c = park.collect(collected_on="2020-01-01", bay="A")
    Container.objects.filter(pk=c.pk).update(state="shipped", shipped_on=date(2020, 6, 1))
    assert services.storage_alerts(park.zone.pk, date(2021, 6, 1)) == []
    assert services.storage_alerts(park.zone.pk, date(2020, 1, 1) + timedelta(days=10)) == []


def test_storage_alerts_for_a_regulator_cover_its_jurisdiction_only(park: Park) -> None:
    on = date(2021, 6, 30)
    old = park.collect(collected_on="2020-06-01", bay="A")
    street = Area.objects.create(zone=park.zone, code="rh", name="荣华街道", kind="street")

    def regulator_of(area: Area | None) -> Actor:
        return actor_for_membership(parties.make_member(park.regulator, "viewer", jurisdiction=area))

    zone_wide = services.storage_alerts(park.zone.pk, on)
    assert [a["container"] for a in zone_wide] == [old.number]
    assert services.storage_alerts(park.zone.pk, on, regulator_of(None)) == zone_wide
    # A street regulator whose street holds no store sees none of the park's containers ...
    assert services.storage_alerts(park.zone.pk, on, regulator_of(street)) == []
    # ... and one whose street holds the park sees them, in the cockpit's shape.
    park.park.parent = street
    park.park.save(update_fields=["parent"])
    assert services.storage_alerts(park.zone.pk, on, regulator_of(street)) == zone_wide
