"""Machinery of the generic isolation test: every API operation, called with a foreign organization's
credentials, must neither show nor change anything of the owning organization.

Each zerowaste app contributes to two registries in its `zerowaste.<app>.testing` module:

- `ISOLATION_PARAMS: dict[str, Callable[[Organization], object]]` — for each path parameter its
  app's routes use, the value naming one of the owner organization's rows (the owner has one of
  everything, see `populate_owner`). An unknown path parameter fails the test, naming the module.
- `ISOLATION_VALUES: dict[str, Callable[[], object]]` (optional) — values for request-body
  properties that a schema alone cannot make valid (a USCC with a check digit, a plate, a kind
  code). Keys are `"SchemaName.property"` or `"property"`.
- `ISOLATION_SETUP: Callable[[Organization, list[str]], None]` (optional) — gives the owner
  organization the app's own rows; it appends the unique marker strings it used to the list.
- `ISOLATION_SHARED_PARAMS: set[str]` (optional) — path parameters naming rows shared by every
  organization (a published catalog, say): a foreign caller may see those, so no 404 is required.
- `ISOLATION_MARKERS_SHARED: bool` (optional) — the markers ISOLATION_SETUP appends name rows of the
  zone, not of the owner (indicator entries): the role walk does not count them as the owner's.

Two walks use this: `core/tests/test_isolation.py` (a foreign organization's admin token against the
owner's rows) and `core/tests/test_role_walk.py` (every demo role, by session and by token of every
scope, against a zone of two streets; see `RoleWalk` below).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.apps import apps
from django.db import models

from zerowaste.core.appmodules import app_modules
from zerowaste.core.models import AuditEntry, Organization

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_counter = itertools.count(1)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return [p["name"] for p in self.spec.get("parameters", []) if p.get("in") == "path"]


def app_testing_modules() -> list[ModuleType]:
    """`zerowaste.<app>.testing` of every installed zerowaste app that has one."""
    return app_modules("testing")


def _collect(attribute: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for module in app_testing_modules():
        merged.update(getattr(module, attribute, {}) or {})
    return merged


def isolation_params() -> dict[str, Callable[[Organization], object]]:
    return _collect("ISOLATION_PARAMS")


def isolation_values() -> dict[str, Callable[[], object]]:
    return _collect("ISOLATION_VALUES")


def shared_params() -> set[str]:
    shared: set[str] = set()
    for module in app_testing_modules():
        shared.update(getattr(module, "ISOLATION_SHARED_PARAMS", set()) or set())
    return shared


def operations(schema: dict[str, Any]) -> list[Operation]:
    result = []
    for path, item in schema.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                result.append(Operation(method, path, item[method]))
    return result


def load_schema(client: Any) -> dict[str, Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


# --- Owner organization ----------------------------------------------------------------------------


def populate_owner(owner: Organization, *, private_only: bool = False) -> list[str]:
    """Give `owner` the rows of every app (through each app's ISOLATION_SETUP); return the markers
    (with `private_only`, not those of rows the zone shares: see ISOLATION_MARKERS_SHARED)."""
    markers: list[str] = []
    for module in app_testing_modules():
        setup = getattr(module, "ISOLATION_SETUP", None)
        if setup is None:
            continue
        found: list[str] = []
        setup(owner, found)
        if not (private_only and getattr(module, "ISOLATION_MARKERS_SHARED", False)):
            markers += found
    return markers


def _org_fields(model: type[models.Model]) -> list[str]:
    return [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.ForeignKey) and f.related_model is Organization
    ]


def _row(obj: models.Model) -> dict[str, Any]:
    data: dict[str, Any] = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
    for m2m in obj._meta.many_to_many:
        data[m2m.name] = sorted(getattr(obj, m2m.name).values_list("pk", flat=True))
    return data


def snapshot(owner: Organization, *, audit_after: int = 0) -> dict[str, Any]:
    """Every row of every zerowaste model that belongs to `owner`, and the audit log (the entries
    after `audit_after` only, when the caller knows the older ones cannot change)."""
    state: dict[str, Any] = {}
    for model in apps.get_models():
        if not model._meta.app_label or not model.__module__.startswith("zerowaste."):
            continue
        if model is Organization:
            state[model._meta.label] = [_row(o) for o in Organization.objects.filter(pk=owner.pk)]
            continue
        if model is AuditEntry:
            continue
        fields = _org_fields(model)
        if not fields:
            continue
        query = models.Q()
        for name in fields:
            query |= models.Q(**{name: owner.pk})
        rows = model._default_manager.filter(query).order_by("pk")
        state[model._meta.label] = [_row(r) for r in rows]
        # The people behind the owner's memberships.
        if model._meta.label == "core.Membership":
            from zerowaste.core.models import User

            users = User.objects.filter(memberships__organization=owner).order_by("pk")
            state["core.User"] = list(users.values("pk", "username", "password", "email", "is_active"))
    state[AUDIT] = {e["id"]: e for e in AuditEntry.objects.filter(id__gt=audit_after).values()}
    return state


AUDIT = "core.AuditEntry"


def changes(before: dict[str, Any], after: dict[str, Any], owner: Organization) -> list[str]:
    """What differs between two snapshots: changed owner rows, changed or lost audit entries, and
    new audit entries about the owner's rows."""
    found = [label for label in before if label != AUDIT and before[label] != after.get(label)]
    old, new = before[AUDIT], after[AUDIT]
    found += [f"audit entry {pk} changed or lost" for pk, entry in old.items() if new.get(pk) != entry]
    owned = {("core.organization", str(owner.pk))}
    for label, rows in after.items():
        if label != AUDIT and isinstance(rows, list):
            owned.update((label.lower(), str(r.get("id", r.get("pk")))) for r in rows)
    found += [
        f"new audit entry {pk} about {entry['model']}:{entry['object_id']}"
        for pk, entry in new.items()
        if pk not in old and (entry["model"], entry["object_id"]) in owned
    ]
    return found


# --- Requests --------------------------------------------------------------------------------------


class UnknownParameter(LookupError):
    pass


def fill_path(
    operation: Operation, owner: Organization, params: dict[str, Callable[[Organization], object]]
) -> str:
    path = operation.path
    for name in operation.path_params:
        if name not in params:
            raise UnknownParameter(
                f"{operation.id}: path parameter {name!r} has no value in any ISOLATION_PARAMS; add "
                f"`{name!r}: lambda org: <one of org's rows>.pk` to ISOLATION_PARAMS in the "
                f"`zerowaste.<app>/testing.py` module of the app that owns this route"
            )
        path = path.replace("{" + name + "}", str(params[name](owner)))
    return path


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    name = None
    while "$ref" in schema:
        ref = schema["$ref"]
        name = ref.rsplit("/", 1)[-1]
        node: Any = root
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return name, schema


def example(
    schema: dict[str, Any],
    root: dict[str, Any],
    values: dict[str, Callable[[], object]],
    name: str = "",
    owner_schema: str | None = None,
) -> Any:
    """A minimal value valid for `schema` (required properties only), using the apps' value hints."""
    for key in (f"{owner_schema}.{name}", name):
        if key in values and name:
            return values[key]()
    ref_name, schema = _resolve(schema, root)
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            options = [s for s in schema[combinator] if _resolve(s, root)[1].get("type") != "null"]
            return example(options[0] if options else schema[combinator][0], root, values)
    if "allOf" in schema:
        return example(schema["allOf"][0], root, values, name, owner_schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {
            prop: example(sub, root, values, prop, ref_name or schema.get("title"))
            for prop, sub in schema.get("properties", {}).items()
            if prop in schema.get("required", [])
        }
    if kind == "array":
        count = schema.get("minItems", 0)
        return [example(schema.get("items", {}), root, values) for _ in range(count)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1) if schema.get("maximum", 2) >= 1 else schema["maximum"]
    if kind == "number":
        return max(float(schema.get("minimum", 1)), 1.0)
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return "2024-01-01"
        if fmt == "date-time":
            return "2099-01-01T00:00:00Z"
        if fmt == "email":
            return f"iso{next(_counter)}@example.com"
        text = f"iso-{next(_counter)}"
        return text[: schema.get("maxLength", len(text))].ljust(schema.get("minLength", 0), "x")
    return None


SAMPLE_CSV = "统一社会信用代码,单位名称,角色\n{uscc},隔离测试单位{n},产废单位\n"


def request_kwargs(
    operation: Operation,
    schema: dict[str, Any],
    values: dict[str, Callable[[], object]],
    csv_factory: Callable[[], bytes] | None = None,
) -> dict[str, Any]:
    """Body (JSON or multipart with a small CSV) and required query parameters for the operation."""
    kwargs: dict[str, Any] = {}
    query = {
        p["name"]: example(p.get("schema", {}), schema, values, p["name"])
        for p in operation.spec.get("parameters", [])
        if p.get("in") == "query" and p.get("required")
    }
    body = operation.spec.get("requestBody")
    if body:
        content = body.get("content", {})
        if "application/json" in content:
            data = example(content["application/json"].get("schema", {}), schema, values)
            kwargs["data"] = json.dumps(data)
            kwargs["content_type"] = "application/json"
        elif "multipart/form-data" in content:
            from django.core.files.uploadedfile import SimpleUploadedFile

            _name, form = _resolve(content["multipart/form-data"].get("schema", {}), schema)
            data = {}
            for prop, sub in form.get("properties", {}).items():
                _n, sub = _resolve(sub, schema)
                if sub.get("format") == "binary":
                    payload = csv_factory() if csv_factory else b"a,b\n1,2\n"
                    data[prop] = SimpleUploadedFile("isolation.csv", payload, content_type="text/csv")
                elif prop in form.get("required", []):
                    data[prop] = example(sub, schema, values, prop)
            kwargs["data"] = data
    if query:
        kwargs["query_params"] = query
    return kwargs


def call(client: Any, operation: Operation, path: str, token: str, kwargs: dict[str, Any]) -> Any:
    method = getattr(client, operation.method)
    headers = {"Authorization": f"Bearer {token}"}
    if operation.method != "get":
        headers["Idempotency-Key"] = f"isolation-{next(_counter)}"
    return method(path, headers=headers, **kwargs)


# --- The role walk: every demo role, by session and by token of every scope ------------------------

TOKEN_SCOPE_SETS: tuple[tuple[str, ...], ...] = (("read",), ("declare",), ("sign",), ("admin",))
STREET_ROLES = ("producer", "carrier", "receiver", "park_operator")
ACTOR_ROLES = ("zone_regulator", "street_regulator", *STREET_ROLES)


def cached_params() -> dict[str, Callable[[Organization], object]]:
    """ISOLATION_PARAMS whose values are made once per organization (each call makes new rows)."""
    made: dict[tuple[str, int], object] = {}

    def once(name: str, make: Callable[[Organization], object]) -> Callable[[Organization], object]:
        def value(org: Organization) -> object:
            if (name, org.pk) not in made:
                made[(name, org.pk)] = make(org)
            return made[(name, org.pk)]

        return value

    return {name: once(name, make) for name, make in isolation_params().items()}


@dataclass
class Credential:
    """One way an actor authenticates: its browser session, or an API token of some scopes."""

    label: str
    client: Any
    token: str | None = None

    def call(self, operation: Operation, path: str, kwargs: dict[str, Any]) -> Any:
        method = getattr(self.client, operation.method)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if operation.method != "get":
            headers["Idempotency-Key"] = f"walk-{next(_counter)}"
        return method(path, headers=headers, **kwargs)


@dataclass
class RoleWalk:
    """A zone of two streets, A and B, each with a producer, a carrier, a receiver and a park operator
    (its park inside the street), every one owning one of everything (ISOLATION_SETUP and, for the two
    producers the walk points its paths at, every ISOLATION_PARAMS row); a zone regulator and the
    regulator of street A. `actors` maps each demo role to its organization, acting from street A."""

    zone: Any
    organizations: dict[str, Organization]  # "A:producer", "B:carrier", "zone_regulator", ...
    markers: dict[int, list[str]]  # organization id → its private markers
    targets: dict[str, Organization]  # "own": street A's producer, "foreign": street B's producer
    params: dict[str, Callable[[Organization], object]]

    def actor_org(self, role: str) -> Organization:
        return self.organizations[role if role.endswith("regulator") else f"A:{role}"]

    def visible_ids(self, role: str) -> set[int]:
        """The walk's organizations `role` may see, decided here independently of the code under
        test: a zone regulator the whole zone, street A's regulator street A's, others themselves."""
        org = self.actor_org(role)
        if role == "zone_regulator":
            return {o.pk for o in self.organizations.values()}
        if role == "street_regulator":
            return {org.pk} | {o.pk for k, o in self.organizations.items() if k.startswith("A:")}
        return {org.pk}

    def foreign_markers(self, role: str) -> list[str]:
        """What `role` must never read: the private markers of the organizations it may not see. The
        names of carriers and receivers are the zone's directory (a producer chooses its carrier and
        receiver from them), not private; their members, sites, licences and tokens are."""
        visible = self.visible_ids(role)
        directory = set(
            Organization.objects.filter(
                zone_id=self.zone.pk, roles__role__in=("carrier", "receiver")
            ).values_list("name", "name_en")
        )
        public = {text for names in directory for text in names if text}
        return [
            m for pk, found in self.markers.items() if pk not in visible for m in found if m not in public
        ]

    def seen(self, body: str) -> set[str]:
        return {m for found in self.markers.values() for m in found if m in body}

    def credentials(self, role: str) -> list[Credential]:
        """A member (admin) of the role's organization logged in, and a token of each scope set that
        this member created, as the organization page does."""
        from django.test import Client

        from zerowaste.core import services
        from zerowaste.core.authz import actor_for_membership
        from zerowaste.testing import parties

        org = self.actor_org(role)
        membership = org.memberships.filter(user__username__startswith="walk-").first()
        if membership is None:
            jurisdiction = org.area if role == "street_regulator" else None
            membership = parties.make_member(
                org, "admin", username=f"walk-{role}-{org.pk}", jurisdiction=jurisdiction
            )
        session = Client()
        session.force_login(membership.user)
        result = [Credential("session", session)]
        actor = actor_for_membership(membership)
        for scopes in TOKEN_SCOPE_SETS:
            issued = services.create_token(
                actor, org.pk, name=f"walk-{'-'.join(scopes)}", scopes=list(scopes)
            )
            result.append(Credential(f"token[{','.join(scopes)}]", Client(), issued.secret))
        return result


def _tagged(role: str, street: str) -> str:
    return f"WALK{street}-{role.upper()}-单位"


def build_role_walk() -> RoleWalk:
    from zerowaste.core.models import Area
    from zerowaste.hazardous.testing import make_park
    from zerowaste.testing import parties
    from zerowaste.transfers.testing import ensure_catalogs, make_carrier, make_receiver

    zone = parties.make_zone()
    ensure_catalogs(zone)
    streets = {
        s: Area.objects.create(zone=zone, code=f"walk-{s}", name=f"WALK{s}街道", kind="street") for s in "AB"
    }
    orgs: dict[str, Organization] = {
        "zone_regulator": parties.make_org(zone, roles=("regulator",), name="WALK-ZONE-REGULATOR-专班"),
        "street_regulator": parties.make_org(
            zone, roles=("regulator",), name="WALKA-STREET-REGULATOR-街道办", area_id=streets["A"].pk
        ),
    }
    for street, area in streets.items():
        orgs[f"{street}:producer"] = parties.make_org(
            zone, roles=("producer",), name=_tagged("producer", street), area_id=area.pk
        )
        orgs[f"{street}:carrier"] = make_carrier(zone, name=_tagged("carrier", street))[0]
        orgs[f"{street}:receiver"] = make_receiver(zone, name=_tagged("receiver", street))
        operator = parties.make_org(zone, roles=("park_operator",), name=_tagged("park", street))
        park = make_park(zone, operator=operator).park
        park.parent = area
        park.save(update_fields=["parent"])
        orgs[f"{street}:park_operator"] = operator
        for key in (f"{street}:carrier", f"{street}:receiver"):
            Organization.objects.filter(pk=orgs[key].pk).update(area=area)
    markers = {org.pk: populate_owner(org, private_only=True) for org in orgs.values()}
    targets = {"own": orgs["A:producer"], "foreign": orgs["B:producer"]}
    params = cached_params()
    # Every row a path can name, made now: demand listings last, so that no matching run pairs one
    # street's producer with the other's demand (which would make them parties of one proposal).
    for name in sorted(params, key=lambda n: n == "demand_listing_id"):
        for target in targets.values():
            params[name](target)
    from zerowaste.core.models import OrganizationRole

    for target in targets.values():
        # A demand listing made the producers receivers, which would put them in the zone's directory
        # of receivers (see `foreign_markers`): they stay producers, whose names are private.
        OrganizationRole.objects.filter(organization=target, role="receiver").delete()
    for key, org in orgs.items():
        # Some rows (a pilot-park store) move their owner into a new park: keep it inside its street.
        org.refresh_from_db()
        street = key.split(":")[0]
        moved_to_new_park = (
            street in streets
            and org.area is not None
            and org.area_id != streets[street].pk
            and org.area.parent_id is None
            and org.area.kind == "park"
        )
        if moved_to_new_park:
            Area.objects.filter(pk=org.area.pk).update(parent=streets[street])  # type: ignore[union-attr]
    return RoleWalk(zone=zone, organizations=orgs, markers=markers, targets=targets, params=params)


# --- Pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    route: str  # "exchange/runs/<int:match_run_id>/"
    name: str

    @property
    def params(self) -> list[str]:
        import re

        return re.findall(r"<(?:\w+:)?(\w+)>", self.route)


def pages() -> list[Page]:
    """Every page of the URL conf (not the API, the language switch or the admin)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[Page] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for p in patterns:
            route = getattr(p.pattern, "_route", None)
            if route is None:  # a regular expression: none of ours
                continue
            if isinstance(p, URLResolver):
                if route in ("api/", "i18n/", "admin/"):
                    continue
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + route, ns)
            elif isinstance(p, URLPattern):
                found.append(Page(prefix + route, f"{namespace}{p.name or ''}"))

    walk(get_resolver().url_patterns, "", "")
    return found


PAGE_VALUES: dict[str, Callable[[], object]] = {
    # Page parameters that name no row: what the page shows of the zone (a key, a code, a choice).
    "key": lambda: "isw_generated_t",
    "number": lambda: "1",
    "decision": lambda: "accept",
    "stream": lambda: "isw",
    "code": lambda: "99-08-03",
    "action": lambda: "issue",
}
# Page parameters named otherwise than the API's: (namespace, name) → the ISOLATION_PARAMS name.
PAGE_ALIASES: dict[tuple[str, str], str] = {("declarations", "pk"): "declaration_id"}


def fill_page(
    page: Page, owner: Organization, params: dict[str, Callable[[Organization], object]]
) -> str | None:
    """The page's path naming `owner`'s rows, or None when a parameter has no value anywhere."""
    import re

    path = "/" + page.route
    namespace = page.name.split(":")[0]
    for name in page.params:
        known = PAGE_ALIASES.get((namespace, name), name)
        if known in params:
            value = params[known](owner)
        elif name in PAGE_VALUES:
            value = PAGE_VALUES[name]()
        else:
            return None
        path = re.sub(r"<(?:\w+:)?" + name + ">", str(value), path)
    return path
