"""Platform core: zones, organizations, roles, users, licences, sites, vehicles, tokens, audit.

Public services for other apps:
- `zerowaste.core.authz`: `Actor`, `require`, `get_organization`, `visible_organizations`
- `zerowaste.core.audit`: `record`, `snapshot`, `diff`, `verify`
- `zerowaste.core.models.ZonedModel`: base of every domain row
- `zerowaste.core.errors`: `DomainError`, `NotFound`, `Forbidden`, `Invalid`, `Conflict`
- `zerowaste.core.tabular`: `read_table`, `Column`, `ImportRejected`, `write_xlsx`
- `zerowaste.core.demo`: `demo_step`, `DemoContext`
- `zerowaste.core.cli`: `PlatformCommand`
- `zerowaste.core.services`: `licence_covers`, `unverified_licence_note`, `unverified_note_of`,
  `unverified_reason` and the organization use cases
- `zerowaste.core.models.Licence.objects`: `qualifying()`, `in_force(on, kind)` — the only licences
  that count (verified, not revoked; ADR 0042)
- `zerowaste.core.licences`: licence verification (pending list, verify, reject, certificate scans)
"""
