"""Keeps an uploaded pair file between the upload page and the confirm step (one file per token).

Files live in ``VAR_DIR/uploads``; the token is random hex, so a request cannot name another path.
Files older than a day are swept when a new one is staged.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings

MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _directory() -> Path:
    path = Path(settings.VAR_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage(content: bytes) -> str:
    """Store ``content``; returns its token."""
    directory = _directory()
    cutoff = time.time() - MAX_AGE_SECONDS
    for old in directory.glob("*.upload"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    (directory / f"{token}.upload").write_bytes(content)
    return token


def load(token: str) -> bytes | None:
    """The staged bytes, or None when the token is malformed or the file is gone."""
    if not _TOKEN.match(token or ""):
        return None
    path = _directory() / f"{token}.upload"
    return path.read_bytes() if path.exists() else None


def discard(token: str) -> None:
    if _TOKEN.match(token or ""):
        (_directory() / f"{token}.upload").unlink(missing_ok=True)
