"""benchmarks/gpu_round.py, the script prepared for a GPU machine, run here on the CPU at a tiny size:
its own SQLite database, filesystem broker and Celery worker, and the figures it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.mark.slow
def test_gpu_round_runs_a_round_through_its_own_worker_and_prints_its_figures(tiny_model_dir, tmp_path):
    import explainers

    methods = ["bti", "tfidf-w2v"]
    extra = [m for m in ("integrated-jacobians",) if m in explainers.available_methods()]
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL")}
    command = [
        sys.executable, "benchmarks/gpu_round.py", "--device", "cpu", "--pairs", "2", "--methods", ",".join(methods),
        "--model", str(tiny_model_dir), "--data", str(tmp_path / "no-data"), "--repeat", "1",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]

    assert f"2 pairs from generated text (no fashion/wine data in {tmp_path / 'no-data'})" in out
    assert re.search(r"round 1: 2 method\(s\) x 2 pairs = 4 explanations, model \S+, launch to open: [\d.]+ s", out)
    for method in methods + extra:  # each method's pairs/s, measured by the worker
        assert re.search(rf"^{re.escape(method)} +2 +[\d.]+ +[\d.]+ +[\d.]+$", out, re.M), method
    for number in range(2, 2 + len(extra)):  # integrated-jacobians in a round of its own, when registered
        assert f"round {number}: 1 method(s) x 2 pairs = 2 explanations" in out
    ratio = re.search(r"BTI / bare forward\+backward of the same 1 chunk\(s\) of <= 16 pairs: ([\d.]+)x wall", out)
    assert ratio and float(ratio.group(1)) > 0, out[-2000:]
    work = re.search(r"on the embedded settings \(SQLite \+ filesystem broker\) in (\S+);", out).group(1)
    assert not Path(work).exists()  # its temporary folder is removed


def test_pairs_come_from_the_data_when_present(shared_data):
    from worker_rounds import paragraph_pairs

    pairs, where = paragraph_pairs(6, data=shared_data)
    assert len(pairs) == 6 and where == f"{shared_data} (fashion detail_desc + wine description)"
    assert all(a.strip() and b.strip() and a != b for a, b in pairs)


def test_without_the_data_pairs_are_generated_text_of_paragraph_length(tmp_path):
    from worker_rounds import paragraph_pairs

    generated, where = paragraph_pairs(6, data=tmp_path)
    assert where == f"generated text (no fashion/wine data in {tmp_path})"
    assert len(set(generated)) == 6 and all(30 <= len(a.split()) <= 60 and b.split() for a, b in generated)
    assert paragraph_pairs(6, data=tmp_path)[0] == generated  # seeded
