"""`zerowaste serve` stops everything it started on one signal (issue 16, item 12).

The server runs for real (gunicorn master, its workers and the task worker) on a free port of
127.0.0.1 against a scratch SQLite database of its own, which `serve` migrates itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
STOP_WITHIN_S = 25.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _parents() -> dict[int, int]:
    """pid -> parent pid of every live (not zombie) process, read from /proc."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: the fields after it are fixed
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            found[int(entry.name)] = int(ppid)
    return found


def _descendants(root: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5) as response:
            return bool(response.status)
    except urllib.error.HTTPError:
        return True  # an HTTP answer, whatever its status
    except OSError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_one_signal_to_serve_stops_gunicorn_its_workers_and_the_task_worker(
    tmp_path: Path, stop: signal.Signals
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "zerowaste.settings",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("ZEROWASTE_TASKS_BACKEND", None)  # the database queue, so that a task worker is started
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "zerowaste.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while not _answers(port):
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve did not answer within 180 s"
            time.sleep(0.5)
        children = _descendants(server.pid)
        # gunicorn master + 2 workers + the task worker
        assert len(children) >= 4, children

        server.send_signal(stop)
        server.wait(timeout=STOP_WITHIN_S)
        deadline = time.monotonic() + 5
        while (alive := children & set(_parents())) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not alive, f"still running after {stop.name} to serve: {sorted(alive)}"
        assert not _port_open(port), "the port still answers"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for pid in children & set(_parents()):  # what a failing serve left behind
            os.kill(pid, signal.SIGKILL)
        log.close()
