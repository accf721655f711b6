"""Platform core: zones, organizations, roles, users, licences, sites, vehicles, tokens, audit.

Public services for other apps:
- `zerowaste.core.authz`: `Actor`, `require`, `get_organization`, `visible_organizations`
- `zerowaste.core.audit`: `record`, `snapshot`, `diff`, `verify`
- `zerowaste.core.models.ZonedModel`: base of every domain row
- `zerowaste.core.errors`: `DomainError`, `NotFound`, `Forbidden`, `Invalid`, `Conflict`
- `zerowaste.core.tabular`: `read_table`, `Column`, `ImportRejected`, `write_xlsx`
- `zerowaste.core.demo`: `demo_step`, `DemoContext`
- `zerowaste.core.cli`: `PlatformCommand`
- `zerowaste.core.services`: `licence_covers` and the organization use cases
"""
