from zerowaste.exchange.cli import ExchangeCommand


class Command(ExchangeCommand):
    pass
