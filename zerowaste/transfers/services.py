"""Use cases of transfers: create, issue, sign, receive, correct, register, count.

This module is the app's façade: the use cases live in modules by concern and are re-exported here,
so that views, the API, the CLI and other apps keep one import.

- `access`: who sees a transfer, the row lock, the parties an organization is on a transfer;
- `inputs`: parsing of quantities, ids, dates, organizations, sites and waste lines;
- `streams/`: the rules of each waste stream behind one interface (`streams.base.TransferStream`);
- `checks`: the stream rules as the engine calls them;
- `drafts`: creating, copying and editing drafts, and the pickers;
- `machine`: the state machine, `perform` (preconditions, transitions, signatures, audit);
- `signature_codes`, `revisions`, `registers` (register, overdue, export), `sheets` (import),
  `verification` (the public QR page), `figures` (statistics, the declarations' seam).

Public services for other apps: `closed_quantities` (declarations' reconciliation), `visible_transfers`,
`statistics`, `create_transfer`, `perform`, `register`, `candidates`, and `stream_rules(code)` for an app
that applies a stream's rule to its own records (the hazardous pilot's park collections).
"""

from __future__ import annotations

# Re-exported because callers read them from here (`services.timezone.localdate()`, `services.Avg`).
from django.db.models import Avg
from django.utils import timezone

from .access import get_by_number, get_transfer, parties_of, visible_transfers
from .drafts import (
    CONSIGNOR_ROLES,
    DraftInput,
    candidates,
    copy_transfer,
    create_transfer,
    may_issue_manifests,
    update_draft,
    vehicles_of,
)
from .figures import average, closed_quantities, register_with_declarations, statistics, years_with_data
from .inputs import LineInput
from .machine import APPLY, PRECONDITIONS, STREAM_STEP_CHECKS, Step, perform
from .registers import (
    EXPORT_HEADERS,
    REGISTERS,
    as_row,
    export,
    export_rows,
    is_overdue,
    overdue_alerts,
    register,
    rules_fmt,
)
from .revisions import REVISION_FIELDS, decide_revision, get_revision, history, request_revision
from .sheets import IMPORT_COLUMNS, IMPORT_MAX_ROWS, import_drafts, import_template_xlsx
from .signature_codes import (
    SIGNATURE_CODE_ALPHABET,
    SIGNATURE_CODE_LENGTH,
    SIGNATURE_CODE_MAX_FAILURES,
    SIGNATURE_CODE_WINDOW,
    _code_digest,
    check_signature_code,
    rotate_signature_code,
    signature_code_status,
)
from .snapshots import AUDITED
from .streams import get as stream_rules
from .verification import public_view, verification_code

__all__ = [
    "APPLY",
    "AUDITED",
    "CONSIGNOR_ROLES",
    "EXPORT_HEADERS",
    "IMPORT_COLUMNS",
    "IMPORT_MAX_ROWS",
    "PRECONDITIONS",
    "REGISTERS",
    "REVISION_FIELDS",
    "SIGNATURE_CODE_ALPHABET",
    "SIGNATURE_CODE_LENGTH",
    "SIGNATURE_CODE_MAX_FAILURES",
    "SIGNATURE_CODE_WINDOW",
    "STREAM_STEP_CHECKS",
    "Avg",
    "DraftInput",
    "LineInput",
    "Step",
    "_code_digest",
    "as_row",
    "average",
    "candidates",
    "check_signature_code",
    "closed_quantities",
    "copy_transfer",
    "create_transfer",
    "decide_revision",
    "export",
    "export_rows",
    "get_by_number",
    "get_revision",
    "get_transfer",
    "history",
    "import_drafts",
    "import_template_xlsx",
    "is_overdue",
    "may_issue_manifests",
    "overdue_alerts",
    "parties_of",
    "perform",
    "public_view",
    "register",
    "register_with_declarations",
    "request_revision",
    "rotate_signature_code",
    "rules_fmt",
    "signature_code_status",
    "statistics",
    "stream_rules",
    "timezone",
    "update_draft",
    "vehicles_of",
    "verification_code",
    "visible_transfers",
    "years_with_data",
]
