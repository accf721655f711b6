from zerowaste.hazardous.cli import HazardousCommand


class Command(HazardousCommand):
    pass
