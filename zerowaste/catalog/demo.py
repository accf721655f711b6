"""Demo step: the demo zone gets every bundled catalog, published with its effective date."""

from __future__ import annotations

from zerowaste.core.demo import DemoContext, demo_step

from . import services


@demo_step("catalog.load", order=10)
def load_catalogs(ctx: DemoContext) -> None:
    services.load_standard_catalogs(ctx.actor)
