from zerowaste.catalog.cli import CatalogCommand


class Command(CatalogCommand):
    pass
