"""Versioned waste catalogs (名录): ISW, national HW list, household classes, construction types.

Public services for other apps (see services.py): `code_valid(zone_id, stream, code, on_date)`,
`resolve(zone_id, code, on_date, stream=None)`, `version_in_force`, `search`, `load_standard_catalogs`.
"""
