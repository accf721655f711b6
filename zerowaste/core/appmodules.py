"""The modules every zerowaste app may contribute by name (`<app>.testing`, `<app>.audit_labels`)."""

from __future__ import annotations

import importlib
from types import ModuleType

from django.apps import apps


def app_modules(suffix: str) -> list[ModuleType]:
    """`zerowaste.<app>.<suffix>` of every installed zerowaste app that has one, in app order."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("zerowaste."):
            continue
        name = f"{config.name}.{suffix}"
        try:
            found.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return found
