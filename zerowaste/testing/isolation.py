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
"""

from __future__ import annotations

import importlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.apps import apps
from django.db import models

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
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("zerowaste."):
            continue
        name = f"{config.name}.testing"
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found


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


def populate_owner(owner: Organization) -> list[str]:
    """Give `owner` the rows of every app (through each app's ISOLATION_SETUP); return the markers."""
    markers: list[str] = []
    for module in app_testing_modules():
        setup = getattr(module, "ISOLATION_SETUP", None)
        if setup is not None:
            setup(owner, markers)
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


def snapshot(owner: Organization) -> dict[str, Any]:
    """Every row of every zerowaste model that belongs to `owner`, and the whole audit log."""
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
    state[AUDIT] = {e["id"]: e for e in AuditEntry.objects.values()}
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
