"""Pure rules: USCC, plates, roles, and the permission table."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerowaste.core import rules

VALID = ("91110000600037341L", "91110108551385082Q", "91310000631696382C", "9144030071526726XG")


@pytest.mark.parametrize("code", VALID)
def test_public_examples_are_valid(code: str) -> None:
    assert rules.validate_uscc(code) is None


def test_wrong_check_character_fails_at_18() -> None:
    fault = rules.validate_uscc("91110000600037341N")
    assert fault is not None and fault.position == 18
    assert "L" in fault.message  # names the expected character


@pytest.mark.parametrize(
    ("code", "position"),
    [
        ("9111000060003734", 0),  # too short
        ("91110000600037341LX", 0),  # too long
        ("", 0),
        ("9I110000600037341L", 2),  # I is not in the character set
        ("91110000600037341O", 18),  # O
        ("91110000S00037341L", 9),  # S
        ("911100006000V7341L", 13),  # V
        ("91110000600037341Z", 18),  # Z
        ("91110000600037341l", 18),  # lower case
        ("911A0000600037341L", 4),  # division code must be digits
        ("91110000600037342L", 17),  # organization code check character
    ],
)
def test_each_fault_names_its_position(code: str, position: int) -> None:
    fault = rules.validate_uscc(code)
    assert fault is not None
    assert fault.position == position
    if position:
        assert f"{position}" in str(fault)
    else:
        assert str(len(code)) in str(fault)


def test_org_code_check_x_and_zero() -> None:
    # 9144030071526726X is the embedded org code of a public example: its check character is X.
    assert rules.org_code_check_character("71526726") == "X"
    assert rules.org_code_check_character("60003734") == "1"


_bodies = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)
_divisions = st.text(alphabet="0123456789", min_size=6, max_size=6)
_kinds = st.sampled_from(["11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93", "Y1"])


@given(kind=_kinds, division=_divisions, body=_bodies)
def test_make_uscc_always_valid(kind: str, division: str, body: str) -> None:
    code = rules.make_uscc(kind, division, body)
    assert len(code) == 18
    assert rules.validate_uscc(code) is None


@settings(max_examples=300)
@given(kind=_kinds, division=_divisions, body=_bodies, position=st.integers(0, 17), data=st.data())
def test_any_single_character_change_is_detected(
    kind: str, division: str, body: str, position: int, data: st.DataObject
) -> None:
    code = rules.make_uscc(kind, division, body)
    replacement = data.draw(st.sampled_from([c for c in rules.USCC_CHARSET + "IOSVZ" if c != code[position]]))
    changed = code[:position] + replacement + code[position + 1 :]
    fault = rules.validate_uscc(changed)
    assert fault is not None, changed
    assert 1 <= fault.position <= 18


@pytest.mark.parametrize("plate", ["京A12345", "京AD12345", "沪B1234F", "粤BF12345", "京Q00001"])
def test_valid_plates(plate: str) -> None:
    assert rules.validate_plate(plate) is None


@pytest.mark.parametrize(
    "plate", ["", "A12345", "京a12345", "京I12345", "京A1234", "京A123456789", "XX12345", "京AO1234"]
)
def test_invalid_plates(plate: str) -> None:
    assert rules.validate_plate(plate) is not None


@pytest.mark.parametrize(
    ("text", "known", "unknown"),
    [
        ("产废单位、receiver", ["producer", "receiver"], []),
        ("产废, 产废单位", ["producer"], []),
        ("监管；运输/消纳场", ["regulator", "carrier", "construction"], []),
        ("Producer", ["producer"], []),
        ("外星人", [], ["外星人"]),
        ("", [], []),
    ],
)
def test_parse_roles(text: str, known: list[str], unknown: list[str]) -> None:
    assert rules.parse_roles(text) == (known, unknown)


# --- The permission table --------------------------------------------------------------------------

EXPECTED_ROLES = {
    "org.view": {"admin", "clerk", "signer", "viewer"},
    "org.edit": {"admin"},
    "members.manage": {"admin"},
    "licences.manage": {"admin", "clerk"},
    "assets.manage": {"admin", "clerk"},
    "tokens.manage": {"admin"},
    "zone.register_org": {"admin", "clerk"},
    "zone.regulate_org": {"admin", "clerk"},
    "zone.audit": {"admin", "clerk", "viewer"},
    "licences.verify": {"admin", "clerk"},
}
SCOPE_SETS: list[frozenset[str] | None] = [None, frozenset()] + [
    frozenset(c) for n in (1, 2) for c in itertools.combinations(rules.TOKEN_SCOPES, n)
]
CASES = [
    (action, role, regulator, scopes)
    for action in rules.PERMISSIONS
    for role in sorted(rules.MEMBER_ROLES)
    for regulator in (False, True)
    for scopes in SCOPE_SETS
]


def test_table_names_every_action() -> None:
    assert set(rules.PERMISSIONS) == set(EXPECTED_ROLES)


@pytest.mark.parametrize(("action", "role", "regulator", "scopes"), CASES)
def test_may(action: str, role: str, regulator: bool, scopes: frozenset[str] | None) -> None:
    org_roles = frozenset({"regulator"} if regulator else {"producer"})
    expected = role in EXPECTED_ROLES[action]
    if (action.startswith("zone.") or action == "licences.verify") and not regulator:
        expected = False
    if scopes is not None:
        needed = rules.PERMISSIONS[action].token_scope
        if needed == "read":
            expected = expected and bool(scopes)
        else:
            expected = expected and (needed in scopes or "admin" in scopes)
    assert rules.may(action, member_role=role, org_roles=org_roles, token_scopes=scopes) is expected


def test_read_scope_cannot_write() -> None:
    read = frozenset({"read"})
    assert rules.may("org.view", member_role="admin", org_roles=frozenset(), token_scopes=read)
    for action in ("org.edit", "members.manage", "licences.manage", "assets.manage", "tokens.manage"):
        assert not rules.may(action, member_role="admin", org_roles=frozenset(), token_scopes=read)
