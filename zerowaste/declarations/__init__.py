"""Declarations and ledgers (申报登记、台账): producers' periodic statements per waste code.

Public services for other apps (see services.py): `effective_declarations(zone_id)`,
`register_transfer_provider(fn)` (the reconciliation seam for transfers), `reconcile(declaration)`,
`statistics(actor, year=..., by=...)`.
"""
