"""Keeps an uploaded pair file between the upload page and the confirm step (one file per token).

Files live in ``VAR_DIR/uploads``; the token is random hex, so a request cannot name another path.
A file older than a day has expired: it is not loaded, and it is swept when a new one is staged.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings

MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[0-9a-f]{32}")


def _directory() -> Path:
    path = Path(settings.VAR_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _path(token: str) -> Path | None:
    """The file of ``token``, or None when it is not a token (fullmatch: no trailing newline either)."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return None
    return _directory() / f"{token}.upload"


def _expired(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # swept or discarded meanwhile by another request
        return False


def stage(content: bytes) -> str:
    """Store ``content``; returns its token."""
    directory = _directory()
    cutoff = time.time() - MAX_AGE_SECONDS
    for old in directory.glob("*.upload"):
        if _expired(old, cutoff):
            old.unlink(missing_ok=True)
    token = secrets.token_hex(16)
    (directory / f"{token}.upload").write_bytes(content)
    return token


def load(token: str) -> bytes | None:
    """The staged bytes, or None when the token is malformed, or its file is gone or has expired."""
    path = _path(token)
    if path is None or _expired(path, time.time() - MAX_AGE_SECONDS):
        return None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def discard(token: str) -> None:
    """Delete the staged file of ``token``; nothing happens for a malformed or unknown token."""
    path = _path(token)
    if path is not None:
        path.unlink(missing_ok=True)
