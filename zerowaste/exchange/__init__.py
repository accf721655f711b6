"""Recycling exchange (再生资源流通交易平台): supply and demand listings, the public board, optimal
matching of supply to demand, and pooled collection of low-value waste (seed:486-488).

Public services for other apps (see `services.py`): `public_board(zone_id) -> list[dict]` — open
listings per waste code as aggregates only (JSON-safe, decimals as strings, a figure one organization
alone would reveal is None); `tariffs_of(zone_id)` — the zone's transport and handling tariffs.
Agreements and pooled runs create their transfers through `transfers.services.create_transfer`.
"""
