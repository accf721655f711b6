"""Fixtures of the core tests.

Argon2 (the production hasher) costs ~0.15 s a hash; tests that make users hash with MD5 unless they
ask for the `argon2_hashing` fixture, which keeps the project's real hashers.
"""

from __future__ import annotations

from typing import Any

import pytest

from zerowaste.core.models import Area, Organization, Zone
from zerowaste.testing import parties

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def argon2_hashing() -> None:
    """Opt out of the fast test hasher."""


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest, settings: Any) -> None:
    if "argon2_hashing" not in request.fixturenames:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def streets(zone: Zone) -> dict[str, Area]:
    """Two streets, each with a community."""
    rh = Area.objects.create(zone=zone, code="rh", name="荣华街道", kind="street")
    bx = Area.objects.create(zone=zone, code="bx", name="博兴街道", kind="street")
    return {
        "rh": rh,
        "bx": bx,
        "rh-c1": Area.objects.create(
            zone=zone, code="rh-c1", name="荣华第1社区", kind="community", parent=rh
        ),
        "bx-c1": Area.objects.create(
            zone=zone, code="bx-c1", name="博兴第1社区", kind="community", parent=bx
        ),
    }


@pytest.fixture
def regulator(zone: Zone) -> Organization:
    return parties.make_org(zone, roles=("regulator",), name="无废城市专班")


@pytest.fixture
def producer(zone: Zone) -> Organization:
    return parties.make_org(zone, roles=("producer",))
