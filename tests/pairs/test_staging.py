"""Staged uploads between the upload page and the confirm step: tokens, expiry, sweeping, bad tokens."""

from __future__ import annotations

import os
import time

import pytest

from bti_eval.pairs import staging

DAY = staging.MAX_AGE_SECONDS


@pytest.fixture
def uploads(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"  # does not exist yet: staging creates it
    return tmp_path / "var" / "uploads"


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_staged_bytes_come_back_exactly_under_a_fresh_random_token(uploads):
    content = "id,a,b\r\n1,café,\x00\n".encode() + bytes(range(256))
    token = staging.stage(content)
    again = staging.stage(content)
    assert len(token) == 32 and set(token) <= set("0123456789abcdef") and again != token
    assert staging.load(token) == content and staging.load(again) == content
    assert sorted(p.name for p in uploads.iterdir()) == sorted([f"{token}.upload", f"{again}.upload"])


def test_an_empty_file_is_staged_and_loads_as_empty_bytes_not_as_missing(uploads):
    assert staging.load(staging.stage(b"")) == b""


def test_a_discarded_token_loads_nothing_and_discarding_twice_is_harmless(uploads):
    token = staging.stage(b"x")
    keep = staging.stage(b"y")
    staging.discard(token)
    staging.discard(token)
    assert staging.load(token) is None and staging.load(keep) == b"y"


@pytest.mark.parametrize(
    "token",
    ["", None, "../../secret_key", "0" * 31, "0" * 33, "A" * 32, "0" * 31 + "/", "0" * 32 + "\n", 12345],
    ids=["empty", "none", "path", "short", "long", "upper", "slash", "newline", "not-str"],
)
def test_a_malformed_token_loads_nothing_and_discards_nothing(uploads, token):
    kept = staging.stage(b"kept")
    (uploads / f"{'0' * 32}.upload").write_bytes(b"other")
    assert staging.load(token) is None
    staging.discard(token)
    assert staging.load(kept) == b"kept" and staging.load("0" * 32) == b"other"


def test_an_unknown_well_formed_token_loads_nothing(uploads):
    assert staging.load("f" * 32) is None


def test_a_file_older_than_a_day_has_expired_even_before_it_is_swept(uploads):
    token = staging.stage(b"old")
    _age(uploads / f"{token}.upload", DAY + 60)
    assert staging.load(token) is None
    _age(uploads / f"{token}.upload", DAY - 60)
    assert staging.load(token) == b"old"


def test_staging_sweeps_expired_uploads_and_keeps_fresh_ones_and_other_files(uploads):
    old, fresh = staging.stage(b"old"), staging.stage(b"fresh")
    _age(uploads / f"{old}.upload", DAY + 1)
    _age(uploads / f"{fresh}.upload", DAY - 60)
    (uploads / "notes.txt").write_text("not an upload")
    _age(uploads / "notes.txt", 10 * DAY)
    new = staging.stage(b"new")
    assert sorted(p.name for p in uploads.iterdir()) == sorted([f"{fresh}.upload", f"{new}.upload", "notes.txt"])


def test_a_file_vanishing_during_the_sweep_does_not_break_staging(uploads):
    uploads.mkdir(parents=True)
    # A dangling link stands for a file another request deleted between the listing and its stat().
    (uploads / f"{'1' * 32}.upload").symlink_to(uploads / "gone")
    token = staging.stage(b"x")
    assert staging.load(token) == b"x" and staging.load("1" * 32) is None
