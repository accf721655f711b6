"""Platform core: zones, organizations, roles, users, licences, sites, vehicles, tokens, audit.

Public services for other apps:
- `zerowaste.core.authz`: `Actor`, `require`, `get_organization`, `visible_organizations`
- `zerowaste.core.audit`: `record`, `snapshot`, `diff`, `verify`
- `zerowaste.core.models.ZonedModel`: base of every domain row
- `zerowaste.core.errors`: `DomainError`, `NotFound`, `Forbidden`, `Invalid`, `Conflict`
- `zerowaste.core.tabular` (ADR 0043): THE reader (`read_table`, `open_rows`, `Column`, `Limits`,
  `ImportRejected`, `estimate_rows`) and THE writer (`write_xlsx`, `write_csv`, `new_workbook` +
  `workbook_bytes`, `safe_cell`) of every import and export
- `zerowaste.core.text`: `control_character`, `printable` (the one text rule)
- `zerowaste.core.images`: `decode`, `decode_slot` (bounded decoding of any uploaded image)
- `zerowaste.core.demo`: `demo_step`, `DemoContext`
- `zerowaste.core.cli`: `PlatformCommand`
- `zerowaste.core.services`: `licence_covers`, `unverified_licence_note`, `unverified_note_of`,
  `unverified_reason` and the organization use cases
- `zerowaste.core.models.Licence.objects`: `qualifying()`, `in_force(on, kind)` — the only licences
  that count (verified, not revoked; ADR 0042)
- `zerowaste.core.licences`: licence verification (pending list, verify, reject, certificate scans)
"""
