"""Household waste, full process (垃圾分类全流程精细化, seed:5004-5014): sources, stations, chipped
bins, devices and the two-sided hand-over events they report over MQTT or HTTP, with daily roll-ups.

Public services for other apps: `ingest.ingest_batch(zone_id, messages)` stores device payloads
idempotently; `services.flows(actor, day)` returns the daily roll-ups an actor may see. Pages and
alarms (later slices) read `DailyFlow`, never the raw `HandoverEvent` table.
"""
