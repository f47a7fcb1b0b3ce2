"""gunicorn settings for the web service (read from the working directory: docker-compose's web
service and benchmarks/judges_load.py both use it; command-line flags override it).

Sync workers, 2 × cores + 1 of them (``WEB_CONCURRENCY`` overrides): an idle worker takes the next
connection, so every request waits in one queue and no judge is stuck behind a busy process.
Threaded workers keep each browser's connection in the process that accepted it, and on the load
benchmark (50 judges, no think time, 2 cores) that split the judges unevenly: p95 105-166 ms
against 92-99 ms here (benchmarks/README.md).

Sync workers are meant behind a proxy that buffers requests (nginx, Caddy and most TLS
terminators do), so that a slow client cannot hold a worker; production runs behind the TLS
proxy anyway (SECURE_PROXY_SSL_HEADER). ``timeout`` bounds one request (exports of a big round
stream for seconds, not minutes).

The libraries of the results page (the statistics and the plot) are imported once, in the master
before it forks (``when_ready``): every worker starts with them, sharing their memory, and the first
results page a worker serves does not wait for them (scipy.stats and matplotlib took 1.6 s of a
2.7 s first view of a 100,000-rating round). Web code still imports them lazily, so management
commands and a worker that never serves a report do not pay for them.
"""

import importlib
import multiprocessing
import os

wsgi_app = "bti_eval.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 120)
graceful_timeout = 30
backlog = 2048
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None  # "-" logs every request to stdout


# Imported by the master before the first fork (see the module docstring).
PRELOADED = ("numpy", "scipy.stats", "krippendorff", "matplotlib.figure", "matplotlib.backends.backend_svg")


def when_ready(server):
    for name in PRELOADED:
        importlib.import_module(name)
