from zerowaste.transfers.cli import TransfersCommand


class Command(TransfersCommand):
    pass
