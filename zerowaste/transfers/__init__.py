"""Transfers (电子联单): e-manifests of general industrial (isw) and hazardous (hw) waste.

Public services for other apps (see `services.py`): `closed_quantities(zone_id, organization_id,
start, end)` — closed transferred-out tonnes per waste code, registered with the declarations'
reconciliation; `visible_transfers(actor)`; `statistics(actor, year=...)`; `stream_rules(code)` — a
stream's rules (`streams.base.TransferStream`), for an app applying one to its own records.
"""
