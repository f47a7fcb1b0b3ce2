"""CPU per judge request, in process: a judge's item page and rating PUT through Django's test
client, on PostgreSQL with the production settings, no server and no concurrency.

``judges_load.py`` measures latency under load, which a busy or slower machine moves by ±15% from
run to run. This measures the work the code does per request (process CPU time), which a shared
machine moves far less, so that two versions of the code can be compared: run it from each
checkout, one right after the other (alternating, a few times).

1. Creates a scratch PostgreSQL database (``bti_hotpath``; dropped at the end) and migrates it.
2. Builds a round open for rating (``--pairs`` pairs × the paper's seven methods, realistic
   payloads, judge HTML rendered as at opening) and, per run, invites a judge who signs in.
3. Each run: ``--loops`` times the next item page (following the redirect, as judge.js does) and
   a rating PUT of it; prints the CPU and wall milliseconds per loop, then the median over runs.

Usage: ``python benchmarks/judge_hotpath.py [--runs 5] [--loops 100] [--pairs 60]``. To compare with
an older commit: ``git worktree add /tmp/old REV``, copy this file into its ``benchmarks/``, and run
it there with this checkout's Python, alternating with a run here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="judges, one run each (default 5)")
    parser.add_argument("--loops", type=int, default=100, help="item page + rating per run (default 100)")
    parser.add_argument("--pairs", type=int, default=60, help="pairs in the round (× 7 methods)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--database", default="bti_hotpath", help="scratch database (created and dropped)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.loops < 1 or args.pairs < 1:
        parser.error("--runs, --loops and --pairs must be positive")
    if args.loops > args.pairs * 7:
        parser.error(f"--loops must be at most the round's {args.pairs * 7} explanations")
    args.sqlite, args.keep_db = False, False  # for judges_load's database helpers
    return args


def signed_in_judge(round):
    from django.test import Client

    try:
        from bti_eval.judging.services.invites import judge_invite
    except ImportError:  # a checkout from before judging.services was split (to compare with it)
        from bti_eval.judging.services import judge_invite

    token = judge_invite(round=round, name="Judge", expires_in_hours=2)[1]
    client = Client()
    page = client.get(f"/j/{token}/").content
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    client.post(f"/j/{token}/", {"csrfmiddlewaretoken": match.group(1).decode()} if match else {})
    return client


def judge_loops(client, loops: int, rng: random.Random) -> int:
    """``loops`` × (next item page, rating PUT); returns how many were done."""
    url = "/rate/next/"
    for done in range(loops):
        response = client.get(url)
        if response.status_code == 302:
            response = client.get(response["Location"])
        rating_url = re.search(rb'data-rating-url="([^"]+)"', response.content)
        item = re.search(rb'data-item="([^"]+)"', response.content)
        if response.status_code != 200 or rating_url is None or item is None:
            raise RuntimeError(f"no item page: HTTP {response.status_code}")
        body = {"item": item.group(1).decode(), "score": rng.randint(1, 5), "seconds": 3.0}
        answer = client.put(rating_url.group(1).decode(), json.dumps(body), content_type="application/json")
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"rating: HTTP {answer.status_code} {answer.content[:200]!r}")
        url = answer.json()["next_url"]
        if url.rstrip("/").endswith("/rate/done"):
            return done + 1
    return loops


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = {
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"{args.postgres.rstrip('/')}/{args.database}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    from judges_load import drop_scratch_database, make_round, recreate_database

    recreate_database(args)
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=os.environ, check=True
        )
        import django

        django.setup()
        try:
            from bti_eval.judging.services.judge_html import round_judge_html_render
        except ImportError:  # before the split, as above
            from bti_eval.judging.services import round_judge_html_render

        rng = random.Random(args.seed)
        round = make_round(name="hotpath", pairs=args.pairs, status="rating", rng=rng)
        round_judge_html_render(round_id=round.pk)
        judge_loops(signed_in_judge(round), min(20, args.loops), rng)  # warm-up: imports, caches, plans
        cpu, wall = [], []
        print(f"judge_hotpath: {ROOT}, {args.runs} runs × {args.loops} (item page + rating), PostgreSQL in process")
        for run in range(args.runs):
            client = signed_in_judge(round)
            began_cpu, began = time.process_time(), time.perf_counter()
            done = judge_loops(client, args.loops, rng)
            cpu.append((time.process_time() - began_cpu) / done * 1000)
            wall.append((time.perf_counter() - began) / done * 1000)
            print(f"run {run + 1}: {cpu[-1]:.2f} ms CPU, {wall[-1]:.2f} ms wall per loop", flush=True)
        print(f"median: {statistics.median(cpu):.2f} ms CPU, {statistics.median(wall):.2f} ms wall per loop")
        return 0
    finally:
        drop_scratch_database(args)


if __name__ == "__main__":
    sys.exit(main())
