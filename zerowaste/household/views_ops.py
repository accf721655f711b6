"""The monthly red/black lists page (ops17): `/household/lists/`, regulators, the latest compiled month
unless `?month=YYYY-MM` names one. Reads stored lists only (compiled by the scheduler or the CLI)."""

from __future__ import annotations

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from zerowaste.core.authz import Actor
from zerowaste.portal.views import with_actor

from . import ops


@with_actor
def lists_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    latest = ops.latest_month(actor)
    month = ops.month_of(request.GET["month"]) if request.GET.get("month") else latest
    rows = ops.lists_for(actor, month) if month else []
    communities = [
        {
            "code": code,
            "name": items[0]["community_name"],
            "red": [r for r in items if r["list"] == "red"],
            "black": [r for r in items if r["list"] == "black"],
        }
        for code, group in groupby(rows, key=lambda r: r["community"])
        for items in [list(group)]
    ]
    return render(request, "household/lists.html", {"month": month, "communities": communities})
