"""Pure rules of the platform core: identifiers, roles, and who may do what. No database here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# --- USCC (统一社会信用代码), GB 32100-2015 --------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CODE_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class UsccError:
    """Why a USCC is invalid; `position` is 1-based (0 when the whole code is at fault)."""

    position: int
    message: str

    def __str__(self) -> str:
        if self.position:
            return str(
                _("position %(position)d: %(message)s") % {"position": self.position, "message": self.message}
            )
        return self.message


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    value = 31 - total % 31
    return USCC_CHARSET[0 if value == 31 else value]


def org_code_check_character(first8: str) -> str:
    """GB 11714 check character of the 9-character organization code embedded at positions 9-17."""
    total = sum(ORG_CODE_CHARSET.index(ch) * w for ch, w in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def validate_uscc(code: str) -> UsccError | None:
    """Return why `code` is not a valid USCC, naming the faulty position, or None if it is valid."""
    if len(code) != 18:
        return UsccError(0, str(_("must be 18 characters, got %(n)d") % {"n": len(code)}))
    for i, ch in enumerate(code, start=1):
        if ch not in USCC_CHARSET:
            return UsccError(
                i, str(_("character %(ch)r is not allowed (0-9 and A-Y except I, O, S, V, Z)") % {"ch": ch})
            )
    if not code[2:8].isdigit():
        bad = next(i for i, ch in enumerate(code[2:8], start=3) if not ch.isdigit())
        return UsccError(bad, str(_("the administrative division code (positions 3-8) must be digits")))
    org_code = code[8:17]
    for i, ch in enumerate(org_code[:8], start=9):
        if ch not in ORG_CODE_CHARSET:
            return UsccError(i, str(_("organization code character %(ch)r is not allowed") % {"ch": ch}))
    expected_org_check = org_code_check_character(org_code[:8])
    if org_code[8] != expected_org_check:
        return UsccError(
            17,
            str(
                _("organization code check character should be %(exp)s, got %(got)s")
                % {"exp": expected_org_check, "got": org_code[8]}
            ),
        )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return UsccError(
            18, str(_("check character should be %(exp)s, got %(got)s") % {"exp": expected, "got": code[17]})
        )
    return None


def make_uscc(authority_kind: str, division: str, org_code_body: str) -> str:
    """Compose a valid USCC from its parts (2 + 6 + 8 characters); used by the demo builder and tests."""
    org_code = org_code_body + org_code_check_character(org_code_body)
    first17 = authority_kind + division + org_code
    return first17 + uscc_check_character(first17)


# --- Vehicle plates --------------------------------------------------------------------------------

PLATE_RE = re.compile(
    r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]"
    r"(?:[A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{5}[DF])$"
)


def validate_plate(plate: str) -> str | None:
    if not PLATE_RE.match(plate):
        return str(_("not a Chinese vehicle plate such as 京A12345 or 京AD12345"))
    return None


# --- Roles -----------------------------------------------------------------------------------------

ORG_ROLE_CHOICES = [
    ("regulator", _("regulator")),
    ("producer", _("producer")),
    ("carrier", _("carrier")),
    ("receiver", _("receiver")),
    ("park_operator", _("park operator")),
    ("property", _("property / community")),
    ("construction", _("construction")),
]
ORG_ROLES = frozenset(code for code, _label in ORG_ROLE_CHOICES)

# Words an import sheet may use for a role, Chinese and English.
ORG_ROLE_ALIASES: dict[str, str] = {
    **{code: code for code in ORG_ROLES},
    "监管": "regulator",
    "监管部门": "regulator",
    "主管部门": "regulator",
    "产废": "producer",
    "产废单位": "producer",
    "运输": "carrier",
    "运输单位": "carrier",
    "利用处置": "receiver",
    "利用处置单位": "receiver",
    "接收单位": "receiver",
    "回收": "receiver",
    "园区运营": "park_operator",
    "园区运营方": "park_operator",
    "park operator": "park_operator",
    "物业": "property",
    "社区": "property",
    "建设": "construction",
    "建设单位": "construction",
    "施工单位": "construction",
    "消纳场": "construction",
}

MEMBER_ROLE_CHOICES = [
    ("admin", _("admin")),
    ("clerk", _("clerk")),
    ("signer", _("signer")),
    ("viewer", _("viewer")),
]
MEMBER_ROLES = frozenset(code for code, _label in MEMBER_ROLE_CHOICES)

TOKEN_SCOPES = ("read", "declare", "sign", "admin")
# What each scope allows, as the token form names it (the keys are the API's words).
TOKEN_SCOPE_LABELS = {
    "read": _("read data"),
    "declare": _("declare and record"),
    "sign": _("sign manifests"),
    "admin": _("administer the organization"),
}

LICENCE_KIND_CHOICES = [
    ("hw_operating", _("hazardous waste operating licence")),
    ("hw_transport", _("hazardous waste transport permit")),
    ("construction_transport", _("construction waste transport permit")),
    ("household_collection", _("household waste collection permit")),
    ("discharge", _("pollutant discharge permit")),
    ("other", _("other permit")),
]
LICENCE_KINDS = frozenset(code for code, _label in LICENCE_KIND_CHOICES)

# --- Licence verification ----------------------------------------------------------------------------
#
# A licence an organization enters about itself is a claim until a regulator has checked it against
# the certificate (number, issuer, validity, scope): only a verified licence qualifies a receiver,
# carrier or vehicle (ADR 0042). The machine is data: (state, event) -> next state; a pair missing
# from the table is a refusal.

LICENCE_PENDING = "pending"
LICENCE_VERIFIED = "verified"
LICENCE_REJECTED = "rejected"
LICENCE_STATUS_CHOICES = [
    (LICENCE_PENDING, _("pending verification")),
    (LICENCE_VERIFIED, _("verified")),
    (LICENCE_REJECTED, _("rejected")),
]

# Events: a regulator verifies or rejects (with a reason); the organization amends the licence (a
# change of what it claims, or a new certificate scan), which asks for a new look.
LICENCE_VERIFY = "verify"
LICENCE_REJECT = "reject"
LICENCE_AMEND = "amend"
LICENCE_EVENTS = (LICENCE_VERIFY, LICENCE_REJECT, LICENCE_AMEND)

LICENCE_TRANSITIONS: dict[tuple[str, str], str] = {
    (LICENCE_PENDING, LICENCE_VERIFY): LICENCE_VERIFIED,
    (LICENCE_PENDING, LICENCE_REJECT): LICENCE_REJECTED,
    (LICENCE_PENDING, LICENCE_AMEND): LICENCE_PENDING,
    # A regulator who finds a verified certificate false withdraws it by rejecting it.
    (LICENCE_VERIFIED, LICENCE_REJECT): LICENCE_REJECTED,
    (LICENCE_VERIFIED, LICENCE_AMEND): LICENCE_PENDING,
    # A rejected licence is corrected and sent again; it is never verified as it was rejected.
    (LICENCE_REJECTED, LICENCE_AMEND): LICENCE_PENDING,
}

# What the organization claims: a change of any of these (or a new scan, or lifting a revocation)
# is an amendment. Revoking is not: giving a licence up needs nobody's check.
LICENCE_CLAIMED_FIELDS = (
    "kind",
    "number",
    "issuer",
    "valid_from",
    "valid_to",
    "waste_codes",
    "annual_capacity_t",
)


def licence_next_status(status: str, event: str) -> str | None:
    """The status a licence moves to on `event`, or None when the machine does not allow it."""
    return LICENCE_TRANSITIONS.get((status, event))


def licence_is_amended(before: dict[str, object], after: dict[str, object]) -> bool:
    """Whether an edit changed what the licence claims (see LICENCE_CLAIMED_FIELDS) or revived it."""
    if any(before.get(f) != after.get(f) for f in LICENCE_CLAIMED_FIELDS):
        return True
    return bool(before.get("is_revoked")) and not after.get("is_revoked")


SITE_KIND_CHOICES = [
    ("plant", _("plant")),
    ("storage", _("storage")),
    ("station", _("collection station")),
    ("disposal", _("utilization / disposal site")),
    ("office", _("office")),
]


# --- Who may do what -------------------------------------------------------------------------------
#
# One table shared by pages, API and CLI. An action names the membership roles that may perform it
# inside their own organization and the token scope an API token needs for it.


@dataclass(frozen=True)
class Permission:
    member_roles: frozenset[str]
    token_scope: str


PERMISSIONS: dict[str, Permission] = {
    "org.view": Permission(MEMBER_ROLES, "read"),
    "org.edit": Permission(frozenset({"admin"}), "admin"),
    "members.manage": Permission(frozenset({"admin"}), "admin"),
    "licences.manage": Permission(frozenset({"admin", "clerk"}), "admin"),
    "assets.manage": Permission(frozenset({"admin", "clerk"}), "admin"),
    "tokens.manage": Permission(frozenset({"admin"}), "admin"),
    # A regulator changes the registration of an organization of its jurisdiction (ORG_FIELD_EDITOR).
    "zone.regulate_org": Permission(frozenset({"admin", "clerk"}), "admin"),
    # Regulator-only actions: the organization must hold the regulator role.
    "zone.register_org": Permission(frozenset({"admin", "clerk"}), "admin"),
    "zone.audit": Permission(frozenset({"admin", "clerk", "viewer"}), "read"),
    # A regulator checks the licences of the organizations of its jurisdiction (never its own).
    "licences.verify": Permission(frozenset({"admin", "clerk"}), "admin"),
}
REGULATOR_ACTIONS = frozenset({"zone.register_org", "zone.audit", "zone.regulate_org", "licences.verify"})


def may(
    action: str, *, member_role: str, org_roles: frozenset[str], token_scopes: frozenset[str] | None
) -> bool:
    """Whether an actor with this membership role (and token scopes, for API tokens) may do `action`."""
    permission = PERMISSIONS[action]
    if action in REGULATOR_ACTIONS and "regulator" not in org_roles:
        return False
    if member_role not in permission.member_roles:
        return False
    if token_scopes is not None:
        # Every scope includes reading; "admin" includes every scope.
        if permission.token_scope == "read":  # noqa: S105 - a scope name, not a secret
            return bool(token_scopes)
        return permission.token_scope in token_scopes or "admin" in token_scopes
    return True


# --- Who may change which field of an organization ----------------------------------------------------
#
# Each field has exactly one kind of editor (ADR 0041). "self": the organization's own admin states
# it (how to reach it, what it calls itself in English, what it does). "regulator": a regulator of a
# jurisdiction holding the organization (or the system operator) records it, because it decides
# who supervises the organization and what it may do: its legal identity (USCC, registered name),
# its street or park (a park exposes the park's hazardous-waste store), its roles, and whether it is
# active. Nobody regulates itself: a regulator's own registration is changed by another regulator
# or the operator.

SELF = "self"
REGULATOR = "regulator"

ORG_FIELD_EDITOR: dict[str, str] = {
    "uscc": REGULATOR,
    "name": REGULATOR,
    "name_en": SELF,
    "area_id": REGULATOR,
    "address": SELF,
    "contact_name": SELF,
    "contact_phone": SELF,
    "industry": SELF,
    "roles": REGULATOR,
    "is_active": REGULATOR,
}


def org_fields_editable(*, own: bool, regulates: bool, system: bool = False) -> frozenset[str]:
    """The fields of an organization an actor may change: its own organization (`own`, as its admin),
    one it regulates (`regulates`: a regulator acting on an organization of its jurisdiction that is
    not itself), or any (`system`)."""
    if system:
        return frozenset(ORG_FIELD_EDITOR)
    editors = {SELF} if own else set()
    if regulates and not own:
        editors.add(REGULATOR)
    return frozenset(f for f, editor in ORG_FIELD_EDITOR.items() if editor in editors)


def parse_roles(text: str) -> tuple[list[str], list[str]]:
    """Split a cell such as '产废单位、receiver' into known role codes and unknown words."""
    words = [w.strip() for w in re.split(r"[,，;；、/|\s]+", text or "") if w.strip()]
    known: list[str] = []
    unknown: list[str] = []
    for word in words:
        code = ORG_ROLE_ALIASES.get(word) or ORG_ROLE_ALIASES.get(word.lower())
        if code is None:
            unknown.append(word)
        elif code not in known:
            known.append(code)
    return known, unknown


# --- Seed line references (issue 16, item 5) --------------------------------------------------------

_SEED_REFERENCE_RE = re.compile(r"\s*[(（]seed:[^)）]*[)）]|\bseed:[\d\-, ]*\d")


def without_seed_references(text: str) -> str:
    """A text of a data file as a page shows it: its seed line references (`(seed:3840)`) belong in the
    data file, code and ADRs, never on a page."""
    return _SEED_REFERENCE_RE.sub("", text).strip()
