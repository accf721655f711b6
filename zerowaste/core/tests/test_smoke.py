from zerowaste.core import rules
from zerowaste.testing import parties


def test_public_examples_are_valid() -> None:
    for code in ("91110000600037341L", "91110108551385082Q", "91310000631696382C", "9144030071526726XG"):
        assert rules.validate_uscc(code) is None, code


def test_api_lists_own_organization(zone) -> None:  # type: ignore[no-untyped-def]
    org = parties.make_org(zone)
    client = parties.api_client(org)
    response = client.get("/api/organizations")
    assert response.status_code == 200
    assert [o["id"] for o in response.json()["items"]] == [org.pk]
