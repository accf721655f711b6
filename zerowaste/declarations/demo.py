"""Demo step: 2018–2020 declarations of the demo producers, near the seed's totals."""

from __future__ import annotations

from zerowaste.core.demo import DemoContext, demo_step


@demo_step("declarations.history", order=20)
def build_history(ctx: DemoContext) -> None:
    from .demo_data import build

    build(ctx)
