"""Form helpers every app's pages use (below the apps, so no app imports another's views)."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from .errors import DomainError


def apply_errors(form: forms.Form, exc: DomainError, renames: Mapping[str, str | None] | None = None) -> None:
    """Put a service's refusal on the form: each error on the field it names (`renames` maps a service's
    field name to the form's, None for one the form has no input of), else above the form."""
    for error in exc.errors or [{"field": None, "message": exc.message}]:
        name = str(error.get("field") or "")
        if renames and name in renames:
            name = renames[name] or ""
        form.add_error(name if name in form.fields else None, str(error.get("message") or exc.message))
