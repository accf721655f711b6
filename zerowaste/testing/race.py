"""Threads that start an action at the same instant (PostgreSQL row-lock tests)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connections

from zerowaste.core.errors import Conflict, DomainError


def race(fn: Callable[[int], Any], threads: int) -> Counter[str]:
    """Run `fn(i)` in `threads` threads released together; count the outcomes: "ok", "409" for a
    Conflict, "<Error>: message" for any other domain error (anything else propagates as a failure)."""
    results: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def run(i: int) -> None:
        try:
            barrier.wait()
            fn(i)
            outcome = "ok"
        except Conflict:
            outcome = "409"
        except DomainError as exc:
            outcome = f"{type(exc).__name__}: {exc.message}"
        finally:
            connections.close_all()
        with lock:
            results[outcome] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results
