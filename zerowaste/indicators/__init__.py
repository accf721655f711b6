"""The Zero-Waste indicator system (指标体系): 43 indicators as data, inputs, evaluation, reports.

Public services for other apps (`zerowaste.indicators.services`):
- `report_rows(zone_id, year) -> list[dict]`
- `completion_summary(zone_id, year) -> dict`
"""
