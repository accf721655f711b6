from zerowaste.portal.cli import PortalCommand


class Command(PortalCommand):
    pass
