"""A receiver's own, unverified HW operating licence neither lets it list HW demand nor be matched
to HW supply (issue 15, defect 6)."""

from __future__ import annotations

from datetime import date

import pytest

from zerowaste.core import licences
from zerowaste.core import services as core
from zerowaste.core.authz import Actor
from zerowaste.core.errors import Invalid
from zerowaste.core.models import Licence
from zerowaste.exchange import services
from zerowaste.exchange.testing import HW_CODE, Market, demand, supply
from zerowaste.testing import parties


def test_an_unverified_licence_does_not_open_hw_demand_or_matching(market: Market) -> None:
    admin = parties.actor_of(market.receiver, "admin")
    lic = core.add_licence(
        admin,
        market.receiver.pk,
        kind="hw_operating",
        number="京环危自报T1",
        issuer="生态环境局",
        valid_from=date(2015, 1, 1),
        valid_to=date(2035, 12, 31),
        waste_codes=["HW49"],
    )
    with pytest.raises(Invalid) as exc:
        demand(market.receiver, prices={HW_CODE: "300"})
    assert exc.value.errors[0]["field"] == "prices[1].waste_code"

    licences.upload_scan(admin, market.receiver.pk, lic.pk, content=b"%PDF-1.4\n%%EOF", filename="c.pdf")
    licences.verify_licence(Actor.system(market.zone), market.receiver.pk, lic.pk)
    demand(market.receiver, prices={HW_CODE: "300"})
    supply(market.producer, code=HW_CODE, tonnes="2", price="-100")
    assert services.run_matching(Actor.system(market.zone), period="2020-06").proposals.count() == 1
    # Back to pending (an amendment): the receiver is no longer matched.
    Licence.objects.filter(pk=lic.pk).update(status="pending")
    assert services.run_matching(Actor.system(market.zone), period="2020-06").proposals.count() == 0
