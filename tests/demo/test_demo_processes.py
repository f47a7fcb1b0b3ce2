"""``make demo`` stops completely: Ctrl-C (SIGINT to the terminal's process group) or a signal to
the group make was started in leaves no web server or worker running.

Runs the Makefile's ``serve`` recipe (what ``make demo`` runs after its set-up) in a process group
of its own, against a scratch SQLite database and var folder and a free port, with the Python that
runs the tests (nothing is installed).
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

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (VENV / "bin" / "celery").exists(), reason="celery is not installed beside this Python"),
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of a live process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), int(fields[2])


def alive(pid: int) -> bool:
    found = stat(pid)
    return found is not None and found[0] != "Z"


def processes() -> dict[int, tuple[str, int, int]]:
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := stat(int(entry.name))) is not None:
            table[int(entry.name)] = found
    return table


def descendants(root: int) -> set[int]:
    table = processes()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (_, parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
    except urllib.error.HTTPError:
        return True  # any HTTP answer: the server is up (the scratch database is not migrated)
    except OSError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_to_makes_process_group_stops_server_and_worker(tmp_path, signum):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "MAKEFLAGS", "MFLAGS")}
    env.update(
        DJANGO_SETTINGS_MODULE="bti_eval.settings.embedded",
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        BTI_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT),
    )
    make = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"VENV={VENV}", "HOST=127.0.0.1", f"PORT={port}", "STOP_SECONDS=10"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a process group of its own, as a terminal gives make
    )
    group = make.pid
    started = set()
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and make.poll() is None:
            started |= descendants(make.pid)
            worker_up = any("celery" in cmdline(pid) and "worker" in cmdline(pid) for pid in started)
            if worker_up and answers(port):
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"make serve did not start (exit {make.poll()}): {make.stderr.read().decode()[-2000:]}")
        started |= descendants(make.pid)
        assert any("runserver" in cmdline(pid) for pid in started)

        os.killpg(group, signum)
        try:
            make.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass  # make still waits for something: listed below

        deadline = time.monotonic() + 5  # reparented leftovers are reaped by init a moment later
        while time.monotonic() < deadline and any(alive(pid) for pid in started):
            time.sleep(0.1)
        left = {pid: cmdline(pid) for pid in started | {make.pid} if alive(pid)}
        assert not left, f"still running after {signum.name}: {left}"
        assert not [pid for pid, (state, _, pgrp) in processes().items() if pgrp == group and state != "Z"]
        assert not answers(port)
    finally:
        for pid in started | {make.pid}:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if make.poll() is None:
            make.wait(timeout=10)
        make.stderr.close()
