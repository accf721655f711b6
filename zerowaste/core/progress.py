"""Progress of a long command on stderr: a bar on a terminal, one line per step in a log.

`scripts/run` builds the demo for minutes on a first start; a person watching a terminal sees a bar
that redraws in place, while a log (CI, a pipe, a service manager) gets one plain line per step with
the seconds elapsed, which a bar's carriage returns would garble.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

BAR_WIDTH = 30


class StepProgress:
    """Reports steps `1..total` of one task named `label` as they start, then the end."""

    def __init__(
        self,
        stream: Any,
        label: str,
        *,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def step(self, done: int, total: int, name: str) -> None:
        """Step `done + 1` of `total`, called `name`, starts (`done` steps are finished)."""
        percent = 100 * done // total if total else 100
        if self.tty:
            filled = BAR_WIDTH * done // total if total else BAR_WIDTH
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r\x1b[K{self.label} [{bar}] {percent:3d}% {name} ({self.elapsed():.0f} s)")
        else:
            step = f"step {done + 1}/{total} {name}"
            self.stream.write(f"{self.label}: {percent:3d}% {step} ({self.elapsed():.1f} s elapsed)\n")
        self.stream.flush()

    def note(self, message: str) -> None:
        """A line of its own (under a bar, which it clears), with the seconds elapsed."""
        prefix = "\r\x1b[K" if self.tty else ""
        self.stream.write(f"{prefix}{self.label}: {message} ({self.elapsed():.1f} s elapsed)\n")
        self.stream.flush()

    def finish(self, message: str) -> None:
        """The task is over: `message` with the seconds it took, on its own line."""
        prefix = "\r\x1b[K" if self.tty else ""
        self.stream.write(f"{prefix}{self.label}: {message} ({self.elapsed():.1f} s)\n")
        self.stream.flush()
