from zerowaste.indicators.cli import IndicatorsCommand


class Command(IndicatorsCommand):
    pass
