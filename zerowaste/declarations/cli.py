"""`zerowaste declarations import|export|stats|template`: logic here, the command class stays thin."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from zerowaste.core.authz import Actor
from zerowaste.core.models import Organization

from . import rules, services


def _progress(total: int) -> Any:
    def report(n: int) -> None:
        sys.stderr.write(f"\rchecked {n:,} of ~{total:,} rows ({n * 100 // max(total, 1)}%)")
        sys.stderr.flush()

    return report


def run_import(actor: Actor, path: str, *, dry_run: bool, submit: bool) -> dict[str, Any]:
    file = Path(path)
    if not file.exists():
        raise CommandError(f"no file {path}")
    content = file.read_bytes()
    total = services.estimate_rows(content, file.name)
    progress = _progress(total) if total > services.BACKGROUND_ROWS else None
    result = services.check_file(actor, content, file.name, progress=progress)
    if progress is not None:
        sys.stderr.write("\n")
    data: dict[str, Any] = {
        "file": file.name,
        "rows": result.rows,
        "dry_run": dry_run,
        "declarations": result.summary(),
    }
    if not dry_run:
        if progress is not None:
            sys.stderr.write("writing ...\n")
        data["declaration_ids"] = services.write_groups(actor, result, submit=submit)
        data["submitted"] = submit
    return data


def organization_actor(actor: Actor, uscc: str | None) -> Organization | None:
    if not uscc:
        return None
    org = Organization.objects.filter(zone_id=actor.zone_id, uscc=uscc.upper()).first()
    if org is None:
        raise CommandError(f"no organization {uscc} in this zone")
    return org


def stats(actor: Actor, *, year: int, by: str, stream: str | None) -> dict[str, Any]:
    return services.statistics(actor, year=year, by=by, stream=stream or "isw")


def stats_text(data: dict[str, Any]) -> str:
    lines = [
        f"{data['stream']} {data['year']} by {data['by']}: total generated {data['total_generated_t']} t"
    ]
    lines += [
        f"  {r['key'] or '-':<24} generated {r['generated_t']:>14} t  utilized {r['utilized_t']:>12}  "
        f"disposed {r['disposed_t']:>12}  transferred {r['transferred_t']:>14}  stock {r['stock_t']:>10}"
        for r in data["rows"]
    ]
    return "\n".join(lines)


STAT_CHOICES = list(rules.STAT_GROUPS)
