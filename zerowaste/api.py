"""The HTTP API: one NinjaAPI, with a router from every app that has an `api.py`.

Authentication is a per-organization bearer token (`Authorization: Bearer zw_...`) or the browser
session (with CSRF). Either becomes an `Actor`; handlers pass it to services and never decide
access themselves. Domain errors map to their HTTP status here, once.
"""

from __future__ import annotations

import importlib
import threading
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from django.apps import apps
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError
from ninja.openapi.schema import OpenAPISchema
from ninja.pagination import LimitOffsetPagination
from ninja.security import HttpBearer, SessionAuth

from zerowaste.core import bounds
from zerowaste.core.authz import Actor, actor_for_token, actor_for_user
from zerowaste.core.errors import DomainError, Forbidden
from zerowaste.core.services import authenticate_token

ACTIVE_ORG_SESSION_KEY = "active_organization_id"
MAX_PAGE = 1000
MAX_OFFSET = 2**62  # far beyond any table, inside every database's integer range
MAX_ID = bounds.MAX_ID

F = TypeVar("F", bound=Callable[..., Any])


class Pagination(LimitOffsetPagination):
    """`limit`/`offset` pagination bounded so that no number reaches the database out of range."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_PAGE)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_PAGE, **kwargs)


def resolved_annotations(func: F) -> F:
    """Evaluate a view's annotations in its own module, for `@paginate`: the wrapper it returns has
    ninja's globals, where `Query[SomeFilters]` (a string under `from __future__ import annotations`)
    names nothing. Put it under `@paginate`."""
    func.__annotations__ = typing.get_type_hints(func, include_extras=True)
    return func


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        api_token = authenticate_token(token)
        actor = actor_for_token(api_token) if api_token else None
        # Every write route needs a write scope: a read-only token is refused before any handler runs,
        # whatever the service would have checked (issue 15, defect 13). Services check the scope too.
        read_only = actor is not None and not (actor.token_scopes or frozenset()) - {"read"}
        if read_only and request.method not in SAFE_METHODS:
            raise Forbidden(_("this token may only read; writing needs the declare, sign or admin scope"))
        return actor


class SessionActorAuth(SessionAuth):
    """The logged-in user, acting for the organization chosen in the session."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return actor_for_user(user, request.session.get(ACTIVE_ORG_SESSION_KEY))


class SchemaCachingAPI(NinjaAPI):
    """A NinjaAPI that builds its OpenAPI schema once per process and language.

    Building walks every route and pydantic model (1.3-2.0 s for 145+ paths, issue 16 item 13); the
    routes do not change while the process runs. Descriptions may be translated, so each language
    has its own entry and one language's text never reaches another.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[tuple[str, str | None], OpenAPISchema] = {}
        self._schemas_lock = threading.Lock()

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        key = (path_prefix, translation.get_language())
        schema = self._schemas.get(key)
        if schema is None:
            with self._schemas_lock:
                schema = self._schemas.get(key)
                if schema is None:
                    schema = super().get_openapi_schema(path_prefix=path_prefix)
                    self._schemas[key] = schema
        return schema

    def forget_openapi_schemas(self) -> None:
        """Drop the built schemas (after routes are added, e.g. in tests)."""
        with self._schemas_lock:
            self._schemas.clear()


api = SchemaCachingAPI(
    title="zerowaste API",
    version="1",
    description="Zero-Waste City (无废城市) platform. Every write accepts an `Idempotency-Key` header.",
    auth=[TokenAuth(), SessionActorAuth()],
    urls_namespace="api",
)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A lost or refused database connection is temporary: tell the client to retry (with its key)."""
    response = api.create_response(request, {"detail": _("the database is unavailable; retry")}, status=503)
    response.headers["Retry-After"] = "2"
    return response


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    """In the request's language (Accept-Language), like every other refusal of the API."""
    return api.create_response(request, {"detail": _("authentication required")}, status=401)


def actor_of(request: HttpRequest) -> Actor:
    actor: Any = request.auth  # type: ignore[attr-defined]
    assert isinstance(actor, Actor)
    return actor


def _register_app_routers() -> None:
    for config in apps.get_app_configs():
        if not config.name.startswith("zerowaste."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.api")
        except ModuleNotFoundError as exc:
            if exc.name == f"{config.name}.api":
                continue
            raise
        router = getattr(module, "router", None)
        if router is not None:
            api.add_router("/", router)
            bounds.bound_operations([router])


_register_app_routers()
