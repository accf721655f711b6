"""Request-wide concerns: security headers, the origin of changes, and idempotent write retries."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from .context import origin
from .models import IdempotencyRecord
from .text import control_character, printable

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Handler = Callable[[HttpRequest], HttpResponse]


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


class SecurityHeadersMiddleware:
    """CSP and the headers Django 5.2 does not set by itself."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class RequestContextMiddleware:
    """Tags every change made while serving a request with its request id, address and channel."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        via = "api" if request.path.startswith("/api/") else "web"
        with origin(via, request_id=request_id, ip=client_ip(request)):
            response = self.get_response(request)
        response.headers["X-Request-Id"] = request_id
        return response


class RejectNulMiddleware:
    """Text holding NUL or another control character is refused before any view (the one text check
    of `core.text`): query parameters, form fields and JSON bodies, names and values alike. PostgreSQL
    cannot store NUL, and one stored control character used to break every later Excel export.
    Tab, line feed and carriage return are text. Uploaded files are checked by their reader."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        found = _control_in_query(request) or _control_in_body(request)
        if found is not None:
            field, char = found
            if char == "U+0000":
                message = _("%(field)s: a NUL character is not allowed") % {"field": field}
            else:
                message = _("%(field)s: the control character %(char)s is not allowed") % {
                    "field": field,
                    "char": char,
                }
            if request.path.startswith("/api/"):
                return _problem(422, message, field=field)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


def _first_control(pairs: Iterable[tuple[str, list[str]]]) -> tuple[str, str] | None:
    for name, values in pairs:
        for text in (name, *values):
            if isinstance(text, str) and (char := control_character(text)):
                return (printable(name) or "body"), char
    return None


def _control_in_query(request: HttpRequest) -> tuple[str, str] | None:
    return _first_control(request.GET.lists())


def _json_strings(value: Any, path: str) -> Iterator[tuple[str, list[str]]]:
    if isinstance(value, str):
        yield path, [value]
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, [str(key)]
            yield from _json_strings(item, str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item, path)


def _control_in_body(request: HttpRequest) -> tuple[str, str] | None:
    if request.method not in WRITE_METHODS:
        return None
    content_type = request.content_type or ""
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and int(request.META.get("CONTENT_LENGTH") or 0) > limit:
            return None  # a large upload: its fields are checked by the services' check_text
        try:
            request.body  # noqa: B018 - kept, so that later readers of the body still find it
            return _first_control(request.POST.lists())
        except Exception:
            return None
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            return None  # the API refuses malformed JSON itself
        return _first_control(_json_strings(data, "body"))
    return None


def _principal(request: HttpRequest) -> str | None:
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer "):
        return "t:" + hashlib.sha256(authorization[7:].strip().encode()).hexdigest()[:40]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    return None


class IdempotencyMiddleware:
    """A write to the API with an `Idempotency-Key` runs once; a retry gets the first response.

    The same key with a different request (method, path or body) is refused with 422. The first
    attempt's record, writes and response commit together, so a retry never runs twice and never
    finds a key blocked by an attempt that died.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self._handle(request)
        except (OperationalError, InterfaceError):
            # The database went away around the request: the client retries with the same key.
            response = _problem(503, "the database is unavailable; retry")
            response.headers["Retry-After"] = "2"
            return response

    def _handle(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if key is None or request.method not in WRITE_METHODS or not request.path.startswith("/api/"):
            return self.get_response(request)
        principal = _principal(request)
        if principal is None:
            return self.get_response(request)
        if not key.strip() or len(key) > 200:
            return _problem(422, "Idempotency-Key must be 1 to 200 characters")
        fingerprint = hashlib.sha256(
            b"\n".join([request.method.encode(), request.get_full_path().encode(), request.body])
        ).hexdigest()
        # The record, the request's own writes and the stored response commit in ONE transaction: a
        # retry either finds the finished record and replays it, or finds nothing because the first
        # attempt rolled back whole. A concurrent duplicate waits on the key's unique index meanwhile.
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        principal=principal, key=key, request_fingerprint=fingerprint
                    )
            except IntegrityError:
                return self._replay(principal, key, fingerprint)
            response = self.get_response(request)
            if response.status_code >= 500 or getattr(response, "streaming", False):
                transaction.set_rollback(True)
                return response
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code,
                content_type=response.get("Content-Type", ""),
                body=_stored_body(response),
            )
            return response

    def _replay(self, principal: str, key: str, fingerprint: str) -> HttpResponse:
        record = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if record is None or record.status_code is None:
            return _problem(409, "a request with this Idempotency-Key is being processed; retry")
        if record.request_fingerprint != fingerprint:
            return _problem(
                422, "Idempotency-Key was already used for a different request", field="Idempotency-Key"
            )
        response = HttpResponse(
            _replayed_body(bytes(record.body or b"")),
            status=record.status_code,
            content_type=record.content_type,
        )
        response.headers["Idempotent-Replayed"] = "true"
        # A replay may repeat a secret shown once (a new API token): never cached, like the first.
        response.headers["Cache-Control"] = "no-store"
        return response


# A response that carries a secret shown once (a new API token, an invitation link) says so with
# `Cache-Control: no-store`; its replay copy is kept encrypted under a key derived from SECRET_KEY,
# which lives outside the database, so that whoever reads the database finds no usable secret.
SEALED = b"\x00sealed:"  # no JSON body starts with NUL


def _replay_cipher() -> Any:
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(b"zerowaste idempotency replay\n" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _stored_body(response: HttpResponse) -> bytes:
    content = bytes(response.content)
    if "no-store" in response.get("Cache-Control", ""):
        return SEALED + _replay_cipher().encrypt(content)
    return content


def _replayed_body(stored: bytes) -> bytes:
    if stored.startswith(SEALED):
        return bytes(_replay_cipher().decrypt(stored[len(SEALED) :]))
    return stored


def _problem(status: int, message: str, field: str | None = None) -> JsonResponse:
    body: dict[str, object] = {"detail": message}
    if field:
        body["errors"] = [{"field": field, "message": message}]
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
