"""Export benchmark: ``manage.py export_results`` on a 1,000-rating round, as a user runs it.

1. Builds a closed round with ``--ratings`` ratings (``--judges`` judges × the paper's seven methods,
   bulk-created) in a scratch SQLite database under a temporary folder (the embedded settings,
   what ``make demo`` runs), or with ``--postgres URL`` in a scratch PostgreSQL database (created
   and dropped).
2. Times ``python manage.py export_results ROUND --format F --output FILE`` as a fresh subprocess,
   ``--repeat`` times per format: the whole command, interpreter start and imports included, in
   wall and CPU seconds. "new": the report cache (the embedded settings' folder in var/) is
   emptied before each run, so each computes the report, as the first export of a round nobody
   has looked at does; "cached": the report was computed before (by the results page, the API or
   an earlier export, or the worker when the round closed; one untimed JSON export computes it
   here first), so the command only reads and formats it.
3. Checks that the command never imported torch or transformers (one extra run under
   ``-X importtime``), and prints the three slowest top-level imports.

``--compare DIR`` times another checkout's ``manage.py`` (e.g. ``git archive OLD | tar -x -C DIR``)
against the same database: before and after side by side.

Usage: ``python benchmarks/export_bench.py [--ratings 1000] [--formats markdown,csv] [--repeat 3]``.
Target: < 1.5 s per export of a round whose report is computed, as it is once the round is closed
(closing queues the report) or its results were viewed; "new" is printed for scale (it pays for
importing scipy.stats and computing the statistics). Exit code 1 when a run fails, a cached export
misses the target, or any run imports torch.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TARGET_SECONDS = 1.5
HEAVY = ("torch", "transformers")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", type=int, default=1000, help="ratings in the round (default 1000)")
    parser.add_argument("--judges", type=int, default=10, help="judges who rated it (default 10)")
    parser.add_argument("--formats", default="markdown,csv,json", help="export formats, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per format (default 3)")
    parser.add_argument("--postgres", default="", help="PostgreSQL server URL (no database): use it, not SQLite")
    parser.add_argument("--database", default="bti_export_bench", help="scratch PostgreSQL database name")
    parser.add_argument("--compare", type=Path, help="another checkout whose manage.py is timed too (before)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.ratings < 1 or args.judges < 1 or args.repeat < 1:
        parser.error("--ratings, --judges and --repeat must be positive")
    if args.compare and not (args.compare / "manage.py").exists():
        parser.error(f"--compare {args.compare}: no manage.py there")
    return args


def recreate_postgres(args: argparse.Namespace, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{args.postgres.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{args.database}"')


def command_env(args: argparse.Namespace, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTHONPROFILEIMPORTTIME")}
    database = (
        f"{args.postgres.rstrip('/')}/{args.database}" if args.postgres else f"sqlite:///{scratch / 'bench.sqlite3'}"
    )
    env.update(
        DJANGO_SETTINGS_MODULE="bti_eval.settings.embedded",
        DATABASE_URL=database,
        BTI_VAR_DIR=str(scratch / "var"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
    )
    return env


def build_round(args: argparse.Namespace, env: dict[str, str]) -> int:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections
    from judges_load import build_results_round

    round = build_results_round(args.ratings, random.Random(args.seed), n_judges=args.judges)
    round_id = round.pk
    connections.close_all()
    return round_id


def export_command(root: Path, round_id: int, fmt: str, output: Path) -> list[str]:
    return [sys.executable, "manage.py", "export_results", str(round_id), "--format", fmt, "--output", str(output)]


def time_export(
    root: Path, env: dict[str, str], round_id: int, fmt: str, output: Path, repeat: int, *, cold: bool
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system) of ``repeat`` runs; ``cold`` empties the shared report
    cache (the embedded settings' folder) before each run, so that each computes the report."""
    times, cpu = [], []
    if not cold:  # the report computed once beforehand, as the results page or the closing worker does
        warm = export_command(root, round_id, "json", output.with_suffix(".warm"))
        subprocess.run(warm, cwd=root, env=env, check=True, capture_output=True)
    for _ in range(repeat):
        if cold:
            shutil.rmtree(Path(env["BTI_VAR_DIR"]) / "cache", ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(export_command(root, round_id, fmt, output), cwd=root, env=env, capture_output=True)
        times.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"export_results --format {fmt} in {root} failed: {done.stderr.decode()[-2000:]}")
    return times, cpu


def import_report(root: Path, env: dict[str, str], round_id: int, fmt: str, output: Path) -> tuple[list[str], str]:
    """(heavy modules the command imported, its three slowest top-level imports)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *export_command(root, round_id, fmt, output)[1:]],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    heavy, top = set(), []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        cumulative, indent, name = int(match.group(1)), len(match.group(2)), match.group(3)
        if name.split(".")[0] in HEAVY:
            heavy.add(name.split(".")[0])
        if indent == 1:
            top.append((cumulative, name))
    slowest = ", ".join(f"{name} {us / 1e6:.2f} s" for us, name in sorted(top, reverse=True)[:3])
    return sorted(heavy), slowest


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    roots = [("after", ROOT)] + ([("before", args.compare.resolve())] if args.compare else [])
    with tempfile.TemporaryDirectory(prefix="bti-export-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        env = command_env(args, scratch)
        if args.postgres:
            recreate_postgres(args)
        try:
            began = time.perf_counter()
            round_id = build_round(args, env)
            backend = "PostgreSQL" if args.postgres else "SQLite"
            print(
                f"export_bench: round {round_id}, {args.ratings} ratings by {args.judges} judges, {backend}, "
                f"built in {time.perf_counter() - began:.1f} s; {args.repeat} runs per format, target < "
                f"{TARGET_SECONDS} s",
                flush=True,
            )
            ok = True
            print(
                f"{'checkout':<8} {'format':<12} {'report':<7} {'best s':>7} {'median s':>9} {'worst s':>8} "
                f"{'CPU s':>6}  torch/transformers"
            )
            for label, root in roots:
                for fmt in formats:
                    output = scratch / f"export-{label}.{fmt}"
                    # The before checkout may keep no shared cache: every one of its runs computes.
                    for cold in (True, False) if label == "after" else (True,):
                        times, cpu = time_export(root, env, round_id, fmt, output, args.repeat, cold=cold)
                        heavy, slowest = import_report(root, env, round_id, fmt, output)
                        print(
                            f"{label:<8} {fmt:<12} {'new' if cold else 'cached':<7} {min(times):>7.2f} "
                            f"{statistics.median(times):>9.2f} {max(times):>8.2f} {statistics.median(cpu):>6.2f}  "
                            f"{', '.join(heavy) or 'not imported'}; slowest imports: {slowest}",
                            flush=True,
                        )
                        if label == "after":  # the target: a round whose report is computed (at closing)
                            ok = ok and not heavy and (cold or statistics.median(times) < TARGET_SECONDS)
            return 0 if ok else 1
        finally:
            if args.postgres:
                recreate_postgres(args, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
