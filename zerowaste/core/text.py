"""The one rule for text that enters or leaves the platform (pure, no database).

Every input path asks `control_character` — forms and API bodies (`RejectNulMiddleware`), the
services' `check_text`, and every importer (`tabular`, per cell) — so a NUL or another control
character never reaches the database: PostgreSQL refuses NUL, and Excel files refuse C0 characters,
so one stored NUL used to break every later export. Tab, line feed and carriage return are legal
(multi-line text). On the way out `printable` drops what may already be stored.
"""

from __future__ import annotations

import re

ALLOWED_CONTROLS = "\t\n\r"
# C0 controls except tab, LF and CR, and DEL.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_character(text: str) -> str | None:
    """The first forbidden control character of `text`, as `U+0000`, or None when there is none."""
    found = CONTROL_RE.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def printable(text: str) -> str:
    """`text` without forbidden control characters (for writing what an older version stored)."""
    return CONTROL_RE.sub("", text)
