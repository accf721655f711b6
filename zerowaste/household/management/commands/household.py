from zerowaste.household.cli import HouseholdCommand


class Command(HouseholdCommand):
    pass
