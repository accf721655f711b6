from zerowaste.core.demo import DemoContext, demo_step


@demo_step("hazardous.pilot_park", order=40)
def build_pilot_park(ctx: DemoContext) -> None:
    pass
