"""Load benchmark: N judges rating at once against gunicorn + PostgreSQL (or the embedded SQLite mode), on loopback.

What it does, and what it prints:

1. Creates a scratch PostgreSQL database (``bti_load`` by default; dropped at the end), migrates it
   with the production settings (``SECURE_SSL_REDIRECT=false``: plain HTTP on 127.0.0.1).
2. Builds a round open for rating (pairs × the paper's seven methods, realistic payloads) and
   invites N judges; serves the app with gunicorn on 127.0.0.1; each judge opens its invite link
   (GET, then the POST that signs it in), as a browser does.
3. Drives the N judges at once for a fixed time with no think time. Each loop fetches the next
   item (the judge's item page, which the previous rating's ``next_url`` names, as judge.js does)
   and rates it (PUT to the rating API with the CSRF token); every ``--replay-every``-th rating is
   sent twice (a double click or a replayed request).
4. Prints requests/s, p50/p95/p99 latency of the next-item and rate requests, and checks the
   database against what the server acknowledged: ratings lost (acknowledged but missing or with
   another score) and doubled (stored more often than acknowledged) must both be 0.
5. Builds a second round with ``--results-ratings`` ratings (bulk_create) and times the results
   page and a full CSV export of it over HTTP.

- ``--design pairwise``: the load round is a pairwise one (every method pair of every pair, side by
  side; each judge gets every comparison): judges choose left, right or about the same through the
  same rating API (``choice`` instead of ``score``). ``--design mixed``: a rating round and a
  pairwise round over the same number of pairs, judges alternating between them. The latencies are
  printed per kind: ``next-item``/``rate`` (1-5 items) and ``next-pair``/``choose`` (pairwise items).

Usage: ``python benchmarks/judges_load.py [--judges 50] [--duration 30]``. Needs PostgreSQL at
``--postgres`` (trust auth) and ``python -m gunicorn``; REDIS_URL is only named (nothing is queued).
Exit code 1 when a rating was lost or doubled or a request failed.

- ``--database sqlite``: the embedded settings (what ``make demo`` serves: ``manage.py runserver``,
  SQLite, no Redis) on a scratch SQLite file in a temporary folder, e.g.
  ``--database sqlite --judges 30 --duration 15 --results-ratings 0``. The summary counts the
  responses by status (a locked database answers 503).
- ``--busy N``: N other processes keep N cores busy (a CPU-bound loop each, stopped at the end)
  while the load and the results are measured, as on a machine that does other work.
- ``--results-only``: skip the judges' load; build the results round and time its page and export.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# --design: the rounds of the load (judges alternate between them).
DESIGNS = {"all": ["all"], "pairwise": ["pairwise"], "mixed": ["all", "pairwise"]}
CHOICES = ("left", "right", "same")
# Request kinds: a 1-5 item's page and rating, a pairwise item's page and choice.
KINDS = {False: ("next-item", "rate"), True: ("next-pair", "choose")}
PAIRWISE_ITEM = re.compile(rb'<div id="judge-item"[^>]*data-answer="choice"')
WORDS = (
    "soft wool gloves with touchscreen fingertips ribbed cuff knitted blend slim jeans washed stretch denim "
    "five pockets zip fly viscose dress v-neck long sleeves cotton jersey top relaxed fit organic linen shirt"
).split()


# --- set-up ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judges", type=int, default=50, help="concurrent judges (default 50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--pairs", type=int, default=100, help="pairs in the load round (× 7 methods per judge)")
    parser.add_argument("--replay-every", type=int, default=10, help="send every k-th rating twice (0: never)")
    parser.add_argument(
        "--design",
        default="all",
        choices=list(DESIGNS),
        help="the load round's design: all (1-5 ratings), pairwise (choices), or mixed (a round of each)",
    )
    # By default gunicorn runs as in production (gunicorn.conf.py: sync, 2 × cores + 1 workers).
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--worker-class", default=None, choices=["sync", "gthread"], help="default: gunicorn.conf.py")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (default 4)")
    add_database_arguments(
        parser,
        name="bti_load",
        help="scratch PostgreSQL database (created and dropped), or 'sqlite': the embedded settings on a scratch file",
    )
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes loading the machine meanwhile")
    parser.add_argument("--results-only", action="store_true", help="skip the load; time the results round only")
    parser.add_argument("--results-ratings", type=int, default=100_000, help="ratings in the results round (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.judges < 1 or args.duration <= 0 or args.pairs < 1:
        parser.error("--judges, --duration and --pairs must be positive")
    if args.duration > 3600:
        parser.error("--duration is at most 3600 seconds")
    if not 0 <= args.busy <= 64:
        parser.error("--busy is between 0 and 64")
    if args.results_only and not args.results_ratings:
        parser.error("--results-only needs --results-ratings > 0")
    args.sqlite = args.database == "sqlite"
    args.scratch = Path(tempfile.mkdtemp(prefix="bti-load-")) if args.sqlite else None
    return args


def add_database_arguments(
    parser: argparse.ArgumentParser, *, name: str, help: str = "scratch PostgreSQL database (created and dropped)"
) -> None:
    """The scratch database's options: ``--postgres`` (the server), ``--database`` (default ``name``) and
    ``--keep-db`` (``recreate_database`` and ``drop_scratch_database`` read them)."""
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server URL, no database")
    parser.add_argument("--database", default=name, help=help)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database at the end")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(args: argparse.Namespace) -> dict[str, str]:
    if args.sqlite:  # the embedded settings, as make demo runs them (no Redis: nothing is queued here)
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY")}
        return {
            **env,
            "DJANGO_SETTINGS_MODULE": "bti_eval.settings.embedded",
            "DATABASE_URL": f"sqlite:///{args.scratch / 'bti_load.sqlite3'}",
            "BTI_VAR_DIR": str(args.scratch / "var"),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bti_eval.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"{args.postgres.rstrip('/')}/{args.database}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def recreate_database(args: argparse.Namespace, *, drop_only: bool = False) -> None:
    if args.sqlite:  # a fresh temporary folder; removed at the end
        if drop_only:
            shutil.rmtree(args.scratch, ignore_errors=True)
        return
    import psycopg

    with psycopg.connect(f"{args.postgres.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{args.database}"')


def drop_scratch_database(args: argparse.Namespace) -> None:
    """At the end of a run: Django's connections closed (if Django was set up), then the scratch
    database dropped unless ``--keep-db``."""
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django may not be set up yet
        pass
    if not args.keep_db:
        recreate_database(args, drop_only=True)


def payload_for(text_a: str, text_b: str, method: str, rng: random.Random) -> dict:
    """An explanation in the contract's shape, with word offsets matching the texts."""
    sides = []
    for text in (text_a, text_b):
        sides.append(
            [
                {"text": m.group(), "start": m.start(), "end": m.end(), "saliency": round(rng.random(), 3)}
                for m in re.finditer(r"\S+", text)
            ]
        )
    pairs = [
        {"a": i, "b": j, "word_similarity": round(rng.random(), 3), "score": round(rng.random(), 3)}
        for i, j in zip(rng.sample(range(len(sides[0])), 3), rng.sample(range(len(sides[1])), 3), strict=True)
    ]
    return {"method": method, "model": "bench", "similarity": 0.71, "truncated": False, "words": sides, "pairs": pairs}


def make_round(*, name: str, pairs: int, status: str, rng: random.Random, design: str = "all"):
    """A round over ``pairs`` new pairs × the seven methods, every explanation DONE; ``design``
    "pairwise" makes its judges' items pairwise (every method pair of every pair, no k)."""
    from bti_eval.pairs.models import ParagraphPair
    from bti_eval.rounds.models import default_methods
    from tests.factories import EvaluationRoundFactory

    def paragraph() -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(35, 60))) + "."

    created = ParagraphPair.objects.bulk_create(
        [
            ParagraphPair(source=name, external_id=f"{name}-{i}", text_a=paragraph(), text_b=paragraph())
            for i in range(pairs)
        ]
    )
    return EvaluationRoundFactory(
        name=name,
        methods=default_methods(),
        status=status,
        design=design,
        explained_pairs=created,
        explained_pairs__payload=lambda pair, method: payload_for(pair.text_a, pair.text_b, method, rng),
    )


# --- HTTP ------------------------------------------------------------------------------------


class Browser:
    """One judge's HTTP/1.1 connection with its cookies (kept by hand: production cookies are
    marked Secure, and this benchmark talks plain HTTP on loopback)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # the next request opens a fresh connection
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, data

    def csrf_headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.cookies.get("csrftoken", "")}

    def close(self) -> None:
        self.conn.close()


def form_token(html: bytes) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token in the form")
    return match.group(1).decode()


def sign_in_judge(port: int, token: str) -> Browser:
    """Open the invite link like a judge: GET the start page, POST its form (which spends the invite)."""
    browser = Browser(port)
    status, _, html = browser.request("GET", f"/j/{token}/")
    if status != 200:
        raise RuntimeError(f"invite page answered {status}")
    body = f"csrfmiddlewaretoken={form_token(html)}".encode()
    status, headers, _ = browser.request(
        "POST", f"/j/{token}/", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    if status != 302 or "sessionid" not in browser.cookies:
        raise RuntimeError(f"invite POST answered {status} without a session")
    return browser


def sign_in_researcher(port: int, username: str, password: str) -> Browser:
    browser = Browser(port)
    status, _, html = browser.request("GET", "/accounts/login/")
    body = f"csrfmiddlewaretoken={form_token(html)}&username={username}&password={password}".encode()
    status, _, _ = browser.request(
        "POST", "/accounts/login/", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    if status != 302:
        raise RuntimeError(f"researcher login answered {status}")
    return browser


def gunicorn_settings(args: argparse.Namespace) -> str:
    """What gunicorn will run with: the flags given, else gunicorn.conf.py's values."""
    import importlib.util

    if args.sqlite:
        return "manage.py runserver (threaded), embedded settings"

    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    worker_class = args.worker_class or conf.worker_class
    workers = args.workers or conf.workers
    threads = f" × {args.threads} threads" if worker_class == "gthread" else ""
    return f"gunicorn {worker_class} {workers} workers{threads}"


def start_server(args: argparse.Namespace, env: dict[str, str], port: int) -> subprocess.Popen:
    """gunicorn as in production, or (``--database sqlite``) ``manage.py runserver`` as make demo runs it."""
    if args.sqlite:
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        log = (args.scratch / "server.log").open("w")  # runserver logs every request
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    else:
        # Production serves collected static files (the Dockerfile runs collectstatic); without
        # them WhiteNoise warns in every worker and the judge page's script would be missing.
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        # gunicorn.conf.py (production's settings) is read from ROOT; flags given here override it.
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
        if args.workers is not None:
            command += ["--workers", str(args.workers)]
        if args.worker_class is not None:
            command += ["--worker-class", args.worker_class]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads), "--keep-alive", "30"]
        server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{command[1]} exited with {server.returncode}")
        try:
            status, _, _ = Browser(port).request("GET", "/accounts/login/")
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError("the server did not answer within 60 s")


# --- the load --------------------------------------------------------------------------------


@dataclass
class JudgeRun:
    """What one judge's thread saw: latencies (seconds) per request kind and every acknowledgement."""

    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {kind: [] for kinds in KINDS.values() for kind in kinds}
    )
    acked: dict[str, int | str] = field(default_factory=dict)  # public id -> last acknowledged score or choice
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> responses
    acks: int = 0
    created: int = 0
    changed: int = 0
    repeats: int = 0
    errors: list[str] = field(default_factory=list)


def judge_loop(
    browser: Browser, run: JudgeRun, *, start: threading.Barrier, stop_at: list[float], seed: int, replay_every: int
) -> None:
    rng = random.Random(seed)
    start.wait()
    next_url = "/rate/next/"
    assigned: list[str] = []  # after the last item: the judge's assignments, re-rated with new scores
    count = 0
    while time.monotonic() < stop_at[0]:
        try:
            began = time.perf_counter()
            status, headers, html = browser.request("GET", next_url)
            if status == 302:  # /rate/next/ redirects to the first unrated item
                status, headers, html = browser.request("GET", urlparse(headers["Location"]).path)
            pairwise = PAIRWISE_ITEM.search(html) is not None  # a pairwise item: answered with a choice
            page_kind, answer_kind = KINDS[pairwise]
            run.latencies[page_kind].append(time.perf_counter() - began)
            run.statuses[status] += 1
            url_match = re.search(rb'data-rating-url="([^"]+)"', html)
            id_match = re.search(rb'data-item="([^"]+)"', html)
            if status != 200 or url_match is None or id_match is None:
                run.errors.append(f"next item: {status}")
                continue
            rating_url, public_id = url_match.group(1).decode(), id_match.group(1).decode()
            seconds = round(rng.uniform(2, 30), 2)
            if pairwise:  # as judge.js sends it: the item on screen, the choice
                choice = rng.choice(CHOICES)
                if run.acked.get(public_id) == choice:
                    choice = CHOICES[(CHOICES.index(choice) + 1) % 3]
                body = json.dumps({"item": public_id, "choice": choice, "seconds": seconds}).encode()
            else:
                score = rng.randint(1, 5)
                if run.acked.get(public_id) == score:
                    score = score % 5 + 1
                body = json.dumps({"score": score, "seconds": seconds}).encode()
            headers = {"Content-Type": "application/json", "Accept": "application/json", **browser.csrf_headers()}
            count += 1
            for _ in range(2 if replay_every and count % replay_every == 0 else 1):
                began = time.perf_counter()
                status, _, answer = browser.request("PUT", rating_url, body=body, headers=headers)
                run.latencies[answer_kind].append(time.perf_counter() - began)
                run.statuses[status] += 1
                if status not in (200, 201):
                    run.errors.append(f"rate: {status} {answer[:200]!r}")
                    break
                reply = json.loads(answer)
                run.acks += 1
                run.acked[public_id] = reply["choice"] if pairwise else reply["score"]
                run.created += reply["created"]
                run.changed += reply["changed"]
                run.repeats += not (reply["created"] or reply["changed"])
                next_url = reply["next_url"]
            if next_url.rstrip("/").endswith("/rate/done"):
                if not assigned:
                    status, _, answer = browser.request("GET", "/api/judge/assignments/")
                    assigned = [item["public_id"] for item in json.loads(answer)["items"]]
                next_url = f"/rate/{assigned[count % len(assigned)]}/"
        except (http.client.HTTPException, OSError, ValueError, KeyError) as exc:
            run.errors.append(f"{type(exc).__name__}: {exc}")


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each of ``pids`` (from /proc; unreadable ones left out)."""
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two ``cpu_seconds`` readings (processes started in between count fully)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def server_pids(server: subprocess.Popen) -> list[int]:
    """The gunicorn master and its workers."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    return [server.pid, *map(int, children.read_text().split())] if children.exists() else [server.pid]


def postgres_pids() -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split(" (", 1)[1].startswith("postgres"):
                pids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return pids


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_load(args: argparse.Namespace, browsers: list[Browser]) -> tuple[list[JudgeRun], float]:
    runs = [JudgeRun() for _ in browsers]
    barrier = threading.Barrier(len(browsers) + 1)
    stop_at = [float("inf")]
    threads = [
        threading.Thread(
            target=judge_loop,
            args=(browser, run),
            kwargs={"start": barrier, "stop_at": stop_at, "seed": args.seed + i, "replay_every": args.replay_every},
            daemon=True,
        )
        for i, (browser, run) in enumerate(zip(browsers, runs, strict=True))
    ]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + args.duration
    began = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join(timeout=args.duration + 120)
    elapsed = time.perf_counter() - began
    for browser in browsers:
        browser.close()
    return runs, elapsed


def check_database(round_ids: list[int], runs: list[JudgeRun]) -> dict[str, int]:
    """Compare the ratings (scores and choices) stored for the rounds with those the server acknowledged."""
    from django.db.models import Count

    from bti_eval.judging.models import Rating, RatingChange

    stored = {
        public_id: score if choice is None else choice
        for public_id, score, choice in Rating.objects.filter(assignment__judge__round_id__in=round_ids).values_list(
            "assignment__public_id", "score", "choice"
        )
    }
    history = RatingChange.objects.filter(rating__assignment__judge__round_id__in=round_ids).count()
    per_assignment = (
        Rating.objects.filter(assignment__judge__round_id__in=round_ids)
        .values("assignment_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    acked = {public_id: score for run in runs for public_id, score in run.acked.items()}
    created = sum(run.created for run in runs)
    changed = sum(run.changed for run in runs)
    lost = sum(1 for public_id, score in acked.items() if stored.get(public_id) != score)
    lost += max(0, created + changed - history)
    doubled = per_assignment + max(0, len(stored) - len(acked)) + max(0, history - (created + changed))
    return {
        "acked_items": len(acked),
        "stored": len(stored),
        "history": history,
        "created": created,
        "changed": changed,
        "lost": lost,
        "doubled": doubled,
    }


# --- results of a big round ------------------------------------------------------------------


def build_results_round(n_ratings: int, rng: random.Random, *, n_judges: int = 100):
    """A closed round with ``n_ratings`` ratings: ``n_judges`` judges × explanations, bulk-created."""
    from django.contrib.auth import get_user_model

    from bti_eval.judging.models import Assignment, Judge, Rating
    from bti_eval.rounds.models import Explanation, default_methods

    METHODS = default_methods()

    per_judge = -(-n_ratings // n_judges)
    pairs = -(-per_judge // len(METHODS))
    round = make_round(name=f"results-{n_ratings}", pairs=pairs, status="closed", rng=rng)
    explanation_ids = list(Explanation.objects.filter(round=round).values_list("id", flat=True))
    User = get_user_model()
    users = User.objects.bulk_create(
        [User(username=f"results-judge-{i}-{secrets.token_hex(4)}") for i in range(n_judges)]
    )
    judges = Judge.objects.bulk_create(
        [Judge(round=round, user=user, name=f"Judge {i}", seed=i) for i, user in enumerate(users)]
    )
    assignments = []
    for judge in judges:
        order = rng.sample(explanation_ids, len(explanation_ids))
        assignments += [Assignment(judge=judge, explanation_id=e, position=p) for p, e in enumerate(order)]
    assignments = Assignment.objects.bulk_create(assignments[:n_ratings], batch_size=5000)
    Rating.objects.bulk_create(
        [
            Rating(assignment=a, judge_id=a.judge_id, score=rng.randint(1, 5), seconds=rng.uniform(2, 60))
            for a in assignments
        ],
        batch_size=5000,
    )
    # What autovacuum does within a minute of 100,000 inserts: planner statistics for the new rows.
    # Measured before it runs, the joins are planned for empty tables and the export reads twice as long.
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return round


def time_get(browser: Browser, path: str, repeats: int = 3) -> tuple[list[float], int, int]:
    times, size, status = [], 0, 0
    for _ in range(repeats):
        began = time.perf_counter()
        status, _, body = browser.request("GET", path)
        times.append(time.perf_counter() - began)
        size = len(body)
    return times, status, size


# --- main ------------------------------------------------------------------------------------


BUSY_LOOP = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nwhile time.monotonic() < end:\n    pass\n"


def start_busy(count: int, seconds: float) -> list[subprocess.Popen]:
    """``count`` processes that each keep a core busy (a CPU-bound loop) for at most ``seconds``."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(seconds)]) for _ in range(count)]


def stop_busy(busy: list[subprocess.Popen]) -> None:
    for process in busy:
        process.terminate()
    for process in busy:
        process.wait(timeout=10)


def print_load_report(
    runs: list[JudgeRun], elapsed: float, cpu: dict[str, float], load: float, round_ids: list[int], *, database: str
) -> bool:
    """Print throughput, latency percentiles, CPU per request and the database check; True if all is well."""
    requests = sum(len(v) for run in runs for v in run.latencies.values())
    errors = [e for run in runs for e in run.errors]
    rate_requests = sum(len(r.latencies["rate"]) + len(r.latencies["choose"]) for r in runs)
    print(
        f"\nload: {requests} requests in {elapsed:.1f} s = {requests / elapsed:.0f} requests/s "
        f"({rate_requests / elapsed:.0f} rate requests/s), errors: {len(errors)}"
    )
    for sample in errors[:5]:
        print(f"  error: {sample}")
    statuses = sum((run.statuses for run in runs), Counter())
    print("responses by status: " + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())))
    print(f"503 (unavailable, e.g. database locked): {statuses.get(503, 0)}")
    per_request = {name: seconds / max(requests, 1) * 1000 for name, seconds in cpu.items()}
    print(
        f"CPU per request: app {per_request['app']:.1f} ms, {database} {per_request['db']:.1f} ms, "
        f"load client {per_request['client']:.1f} ms; this benchmark kept {sum(cpu.values()) / elapsed:.2f} of "
        f"{os.cpu_count()} cores busy; load average before {load:.1f}"
    )
    print(f"{'request':<10} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind in (kind for kinds in KINDS.values() for kind in kinds):
        ms = [v * 1000 for run in runs for v in run.latencies[kind]]
        if not ms:
            continue
        print(
            f"{kind:<10} {len(ms):>7} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} "
            f"{percentile(ms, 99):>8.1f} {max(ms, default=float('nan')):>8.1f}"
        )
    judge_means = sorted(
        statistics.fmean(v for values in run.latencies.values() for v in values) * 1000
        for run in runs
        if any(run.latencies.values())
    )
    if judge_means:
        print(
            f"mean latency per judge (fairness): min {judge_means[0]:.0f} ms, median "
            f"{statistics.median(judge_means):.0f} ms, max {judge_means[-1]:.0f} ms"
        )
    check = check_database(round_ids, runs)
    print(
        f"ratings acknowledged (2xx): {sum(r.acks for r in runs)} responses for {check['acked_items']} items "
        f"(created {check['created']}, changed {check['changed']}, repeats {sum(r.repeats for r in runs)})"
    )
    print(
        f"ratings in the database: {check['stored']} (history rows {check['history']}); "
        f"lost: {check['lost']}, doubled: {check['doubled']}"
    )
    return not errors and not check["lost"] and not check["doubled"]


def time_results(args: argparse.Namespace, port: int, password: str, rng: random.Random, start_busy_now) -> bool:
    """Build the big round, then time its results page and full CSV export over HTTP (cold, then warm)."""
    from django.db import connections

    began = time.perf_counter()
    big = build_results_round(args.results_ratings, rng)
    print(f"\nresults round: {args.results_ratings} ratings built in {time.perf_counter() - began:.1f} s")
    connections.close_all()
    start_busy_now()
    researcher = sign_in_researcher(port, "bench-researcher", password)
    ok = True
    for label, path in (
        ("results page", f"/rounds/{big.pk}/results/"),
        ("CSV export", f"/api/rounds/{big.pk}/export/?format=csv"),
    ):
        times, status, size = time_get(researcher, path)
        print(
            f"{label:<13} HTTP {status}, {size:>10,} bytes: first {times[0]:.2f} s, "
            f"best {min(times):.2f} s, median {statistics.median(times):.2f} s (target < 2 s)"
        )
        ok = ok and status == 200
    researcher.close()
    return ok


def clear_cache(env: dict[str, str]) -> None:
    """Drop cached reports of earlier runs (the production cache's keys in the benchmark's Redis db)."""
    import redis

    if "REDIS_URL" not in env:  # the embedded settings: a fresh var folder, nothing cached
        return

    client = redis.Redis.from_url(env["REDIS_URL"])
    for key in client.scan_iter("bti-cache:*"):
        client.delete(key)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    env = server_env(args)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    serving = gunicorn_settings(args)
    busy_note = f", {args.busy} busy process(es) loading the machine" if args.busy else ""
    print(
        f"judges_load: {args.judges} judges, {args.duration:.0f} s, design {args.design}, {serving}, "
        f"database {args.database}{busy_note}",
        flush=True,
    )
    recreate_database(args)
    clear_cache(env)
    server = None
    busy: list[subprocess.Popen] = []

    def start_busy_now() -> None:  # once, just before the first measurement; bounded in time anyway
        if args.busy and not busy:
            busy.extend(start_busy(args.busy, args.duration + 1800))
            time.sleep(0.5)

    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.db import connections

        from bti_eval.judging.services.invites import judge_invite
        from bti_eval.judging.services.judge_html import round_judge_html_render

        password = secrets.token_urlsafe(16)
        get_user_model().objects.create_user("bench-researcher", password=password, is_staff=True)
        ok = True
        port = free_port()
        if args.results_only:
            connections.close_all()
            server = start_server(args, env, port)
        else:
            rounds = [
                make_round(name=f"load-{design}", pairs=args.pairs, status="rating", rng=rng, design=design)
                for design in DESIGNS[args.design]
            ]
            began = time.perf_counter()
            rendered = sum(round_judge_html_render(round_id=r.pk) for r in rounds)  # as the worker does at opening
            print(f"judge HTML of {rendered} explanations rendered in {time.perf_counter() - began:.1f} s", flush=True)
            began = time.perf_counter()
            tokens = [
                judge_invite(round=rounds[i % len(rounds)], name=f"Judge {i}", expires_in_hours=2)[1]
                for i in range(args.judges)
            ]
            print(
                f"{args.judges} judges invited (assignments built) in {time.perf_counter() - began:.1f} s", flush=True
            )
            connections.close_all()

            server = start_server(args, env, port)
            app_pids = server_pids(server)
            browsers = [sign_in_judge(port, token) for token in tokens]  # before the CPU count: not part of the load
            db_pids = [] if args.sqlite else postgres_pids()  # SQLite runs inside the app's process
            start_busy_now()
            before = (cpu_seconds(app_pids), cpu_seconds(db_pids), time.process_time(), os.getloadavg()[0])
            runs, elapsed = run_load(args, browsers)
            cpu = {
                "app": cpu_used(before[0], cpu_seconds(app_pids)),
                "db": cpu_used(before[1], cpu_seconds(db_pids)),
                "client": time.process_time() - before[2],
            }
            database = "SQLite (in the app)" if args.sqlite else "PostgreSQL"
            ok = print_load_report(runs, elapsed, cpu, before[3], [r.pk for r in rounds], database=database)
        if args.results_ratings:
            ok = time_results(args, port, password, rng, start_busy_now) and ok
        return 0 if ok else 1
    finally:
        stop_busy(busy)
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        drop_scratch_database(args)


if __name__ == "__main__":
    sys.exit(main())
