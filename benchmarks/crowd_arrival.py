"""Crowd arrival benchmark: N study participants arrive within a few seconds, against gunicorn +
PostgreSQL as in production, each rates a few items and completes.

What it does, and what it prints:

1. Creates a scratch PostgreSQL database (``bti_crowd`` by default; dropped at the end) and migrates
   it with the production settings (``SECURE_SSL_REDIRECT=false``: plain HTTP on 127.0.0.1), as
   ``judges_load.py`` does (its server and HTTP helpers are reused).
2. Builds a k-per-item round open for rating (``--pairs`` × the paper's seven methods, k = ``--k``)
   and a Prolific study link with ``--items`` items per participant and a quota of N; renders the
   judges' HTML as the worker does when a round opens; serves the app with gunicorn.
3. N participants (threads, one HTTP connection each) arrive spread evenly over ``--within``
   seconds. Each opens the study link with its own PROLIFIC_PID / STUDY_ID / SESSION_ID (the
   request that makes its judge and assignments), reads the rubric, then fetches and rates each
   item as judge.js does (item page, PUT) and opens the done page, which must show the completion
   code and Prolific's return URL. A participant spends ``--think`` seconds (±50%, default 2: a
   fast one) on the rubric and on each item; ``--think 0`` sends every request at once (a stress
   test: 200 participants then ask for about 2.5 cores' worth of work within 10 s). Every
   ``--double-every``-th participant opens the link from a second browser at the same moment
   (the same ids: a double click, two tabs).
4. Prints p50/p95/p99 of the arrival (the study link's request), the rubric, the item pages, the
   ratings and the done page; then checks the database: duplicate judges (more than one judge for
   a participant, or a judge for nobody), ratings lost (acknowledged but not stored as sent), the
   participants completed, and the explanations' coverage (held by how many judges: least-held
   first keeps it within one).

Usage: ``python benchmarks/crowd_arrival.py [--participants 200] [--within 10]``; ``--quick`` is 20
participants within 2 s on 10 pairs (a check that it works). Needs PostgreSQL at ``--postgres``
(trust auth) and ``python -m gunicorn``. Exit code 1 when a request failed, a judge is duplicated, a
rating was lost or a participant did not complete.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlparse

import judges_load as load

KINDS = ("arrival", "rubric", "item", "rate", "done")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=200, help="participants arriving (default 200)")
    parser.add_argument("--within", type=float, default=10.0, help="seconds over which they arrive (default 10)")
    parser.add_argument("--items", type=int, default=5, help="items each participant rates (default 5)")
    parser.add_argument("--pairs", type=int, default=100, help="pairs in the round (× 7 methods)")
    parser.add_argument("--k", type=int, default=3, help="judges per explanation (k-per-item)")
    parser.add_argument("--double-every", type=int, default=10, help="every n-th opens the link twice at once")
    parser.add_argument(
        "--think",
        type=float,
        default=2.0,
        help="seconds a participant spends on the rubric and on each item, ±50%% (default 2; 0: none, a stress test)",
    )
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    load.add_database_arguments(parser, name="bti_crowd")
    parser.add_argument("--quick", action="store_true", help="20 participants within 2 s on 10 pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        args.participants, args.within, args.pairs = 20, 2.0, 10
    if args.participants < 1 or args.within < 0 or args.items < 1 or args.pairs < 1 or args.k < 1 or args.think < 0:
        parser.error("--participants, --items, --pairs and --k must be positive, --within and --think not negative")
    if args.database == "sqlite":
        parser.error("this benchmark runs on PostgreSQL (use judges_load.py --database sqlite for the embedded mode)")
    # What judges_load's helpers read.
    args.sqlite, args.scratch, args.worker_class, args.threads = False, None, None, 4
    return args


@dataclass
class Participant:
    """One participant's ids, what their requests took (seconds) and what the server acknowledged."""

    pid: str
    session: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    acked: dict[str, int] = field(default_factory=dict)  # public id -> score acknowledged
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    completed: bool = False

    def query(self, study: str) -> str:
        return urlencode({"PROLIFIC_PID": self.pid, "STUDY_ID": study, "SESSION_ID": self.session})


def _timed(run: Participant, kind: str, browser: load.Browser, method: str, path: str, **kwargs):
    began = time.perf_counter()
    status, headers, body = browser.request(method, path, **kwargs)
    run.latencies[kind].append(time.perf_counter() - began)
    run.statuses[status] += 1
    return status, headers, body


def participant(
    port: int, url: str, run: Participant, *, at: float, code: str, double: bool, rng: random.Random, think: float = 0.0
) -> None:
    """Arrive at ``at`` (monotonic), read the rubric, rate every item, open the done page; ``think``
    seconds (±50%) on the rubric and on each item before rating it."""

    def read() -> None:
        if think:
            time.sleep(think * rng.uniform(0.5, 1.5))

    browser = load.Browser(port)
    second = load.Browser(port) if double else None
    try:
        time.sleep(max(0.0, at - time.monotonic()))
        if second is not None:  # the same participant, a second browser, the same moment
            twin = threading.Thread(target=lambda: run.statuses.update([second.request("GET", url)[0]]))
            twin.start()
        status, headers, _ = _timed(run, "arrival", browser, "GET", url)
        if second is not None:
            twin.join()
        if status != 302 or urlparse(headers.get("Location", "")).path != "/rate/":
            run.errors.append(f"arrival: {status}")
            return
        status, _, html = _timed(run, "rubric", browser, "GET", "/rate/")
        if status != 200 or b'id="judge-start"' not in html:
            run.errors.append(f"rubric: {status}")
            return
        read()
        next_url = "/rate/next/"
        while True:
            began = time.perf_counter()
            status, headers, html = browser.request("GET", next_url)
            if status == 302:
                next_url = urlparse(headers["Location"]).path
                if next_url == "/rate/done/":
                    break
                status, headers, html = browser.request("GET", next_url)
            run.latencies["item"].append(time.perf_counter() - began)
            run.statuses[status] += 1
            url_match = re.search(rb'data-rating-url="([^"]+)"', html)
            id_match = re.search(rb'data-item="([^"]+)"', html)
            if status != 200 or url_match is None or id_match is None:
                run.errors.append(f"item: {status}")
                return
            read()
            score = rng.randint(1, 5)
            body = json.dumps({"item": id_match.group(1).decode(), "score": score, "seconds": 7.5}).encode()
            headers = {"Content-Type": "application/json", "Accept": "application/json", **browser.csrf_headers()}
            status, _, answer = _timed(
                run, "rate", browser, "PUT", url_match.group(1).decode(), body=body, headers=headers
            )
            if status not in (200, 201):
                run.errors.append(f"rate: {status} {answer[:200]!r}")
                return
            run.acked[id_match.group(1).decode()] = json.loads(answer)["score"]
            next_url = json.loads(answer)["next_url"]
            if next_url == "/rate/done/":
                break
        status, _, html = _timed(run, "done", browser, "GET", "/rate/done/")
        expected = f"https://app.prolific.com/submissions/complete?cc={code}".encode()
        run.completed = status == 200 and expected in html
        if not run.completed:
            run.errors.append(f"done: {status} without the completion code")
    except (OSError, ValueError, KeyError) as exc:
        run.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        browser.close()
        if second is not None:
            second.close()


def warm_up(port: int, link, args: argparse.Namespace) -> None:
    """Participants of another round through every page, a few per gunicorn worker at once, so that
    the measured arrivals meet warm workers (a worker's first request loads templates and code)."""
    runs = [Participant(pid=secrets.token_hex(12), session=secrets.token_hex(12)) for _ in range(3 * 8)]
    study = secrets.token_hex(12)
    threads = [
        threading.Thread(
            target=participant,
            args=(port, f"/s/{link.token}/?" + run.query(study), run),
            kwargs={"at": 0.0, "code": link.completion_code, "double": False, "rng": random.Random(i)},
        )
        for i, run in enumerate(runs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    errors = [e for run in runs for e in run.errors]
    if errors:
        raise RuntimeError(f"warm-up failed: {errors[:3]}")


def check_database(round_id: int, runs: list[Participant]) -> dict[str, int]:
    """Duplicate judges, ratings lost, participants completed, and the explanations' coverage."""
    from django.db.models import Count

    from bti_eval.judging.models import Assignment, Judge, Participation, Rating

    per_participant = Counter(Judge.objects.filter(round_id=round_id).values_list("participant_id", flat=True))
    expected = {run.pid for run in runs}
    duplicates = sum(n - 1 for n in per_participant.values() if n > 1) + len(set(per_participant) - expected)
    stored = dict(Rating.objects.filter(judge__round_id=round_id).values_list("assignment__public_id", "score"))
    acked = {public_id: score for run in runs for public_id, score in run.acked.items()}
    lost = sum(1 for public_id, score in acked.items() if stored.get(public_id) != score)
    held = (
        Assignment.objects.filter(explanation__round_id=round_id, explanation__is_control=False)
        .values("explanation_id")
        .annotate(n=Count("id"))
    )
    coverage = Counter(row["n"] for row in held)
    return {
        "judges": sum(per_participant.values()),
        "duplicates": duplicates,
        "acked": len(acked),
        "stored": len(stored),
        "lost": lost,
        "completed": Participation.objects.filter(judge__round_id=round_id, outcome="completed").count(),
        "coverage": dict(sorted(coverage.items())),
    }


def report(runs: list[Participant], elapsed: float, check: dict, args: argparse.Namespace) -> bool:
    errors = [e for run in runs for e in run.errors]
    statuses = sum((run.statuses for run in runs), Counter())
    requests = sum(statuses.values())
    print(
        f"\n{len(runs)} participants arrived within {args.within:g} s and finished in {elapsed:.1f} s: "
        f"{requests} requests, errors: {len(errors)}"
    )
    for sample in errors[:5]:
        print(f"  error: {sample}")
    print("responses by status: " + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())))
    print(f"{'request':<8} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind in KINDS:
        ms = [v * 1000 for run in runs for v in run.latencies[kind]]
        print(
            f"{kind:<8} {len(ms):>6} {load.percentile(ms, 50):>8.1f} {load.percentile(ms, 95):>8.1f} "
            f"{load.percentile(ms, 99):>8.1f} {max(ms, default=float('nan')):>8.1f}"
        )
    arrival_p95 = load.percentile([v * 1000 for run in runs for v in run.latencies["arrival"]], 95)
    print(f"arrival p95 {arrival_p95:.0f} ms (target < 300 ms)")
    print(
        f"judges {check['judges']} for {len(runs)} participants: duplicate judges {check['duplicates']}; "
        f"ratings acknowledged {check['acked']}, stored {check['stored']}, lost {check['lost']}; "
        f"completed {check['completed']} (done page with the code: {sum(r.completed for r in runs)})"
    )
    print(f"coverage (judges per explanation: explanations): {check['coverage']}")
    return not errors and not check["duplicates"] and not check["lost"] and check["completed"] == len(runs)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    env = load.server_env(args)
    os.environ.update(env)
    sys.path.insert(0, str(load.ROOT))
    print(
        f"crowd_arrival: {args.participants} participants within {args.within:g} s, {args.items} items each, "
        f"{args.think:g} s ±50% on the rubric and each item, "
        f"{args.pairs} pairs × 7 methods, k = {args.k}, {load.gunicorn_settings(args)}, database {args.database}",
        flush=True,
    )
    load.recreate_database(args)
    server = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=load.ROOT, env=env, check=True
        )
        import django

        django.setup()
        from django.db import connections

        from bti_eval.judging.services.judge_html import round_judge_html_render
        from bti_eval.judging.services.studies import study_link_create
        from bti_eval.rounds.models import EvaluationRound

        warm = load.make_round(name="warm-up", pairs=3, status="rating", rng=rng)
        warm_link = study_link_create(round=warm, platform="prolific")
        round = load.make_round(name="crowd", pairs=args.pairs, status="rating", rng=rng)
        EvaluationRound.objects.filter(pk=round.pk).update(design="k-per-item", judges_per_explanation=args.k)
        round.refresh_from_db()
        round_judge_html_render(round_id=round.pk)
        link = study_link_create(
            round=round, platform="prolific", items_per_participant=args.items, quota=args.participants
        )
        study = secrets.token_hex(12)
        runs = [Participant(pid=secrets.token_hex(12), session=secrets.token_hex(12)) for _ in range(args.participants)]
        connections.close_all()

        port = load.free_port()
        server = load.start_server(args, env, port)
        warm_up(port, warm_link, args)
        url = f"/s/{link.token}/?"
        begin = time.monotonic() + 1.0
        step = args.within / max(1, args.participants - 1)
        threads = [
            threading.Thread(
                target=participant,
                args=(port, url + run.query(study), run),
                kwargs={
                    "at": begin + i * step,
                    "code": link.completion_code,
                    "double": bool(args.double_every) and i % args.double_every == 0,
                    "rng": random.Random(args.seed + i),
                    "think": args.think,
                },
                daemon=True,
            )
            for i, run in enumerate(runs)
        ]
        app_pids, db_pids = load.server_pids(server), load.postgres_pids()
        before = (load.cpu_seconds(app_pids), load.cpu_seconds(db_pids), time.process_time(), os.getloadavg()[0])
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.within + 300)
        elapsed = time.perf_counter() - started
        cpu = {
            "app": load.cpu_used(before[0], load.cpu_seconds(app_pids)),
            "PostgreSQL": load.cpu_used(before[1], load.cpu_seconds(db_pids)),
            "client": time.process_time() - before[2],
        }
        requests = sum(sum(run.statuses.values()) for run in runs)
        print(
            "\nCPU per request: "
            + ", ".join(f"{name} {seconds / max(requests, 1) * 1000:.1f} ms" for name, seconds in cpu.items())
            + f"; {sum(cpu.values()) / elapsed:.2f} of {os.cpu_count()} cores busy with this benchmark; "
            f"load average before {before[3]:.1f} (other work on the machine shows here)"
        )
        check = check_database(round.pk, runs)
        return 0 if report(runs, elapsed, check, args) else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        load.drop_scratch_database(args)


if __name__ == "__main__":
    sys.exit(main())
