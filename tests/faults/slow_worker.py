"""A Celery worker for the fault tests whose explanations take a while: ``explainers.explain_pairs``
first sleeps ``BTI_TEST_EXPLAIN_DELAY`` seconds, so that a test can kill the worker in the middle of
a chunk, and ``explainers.faithfulness.faithfulness`` (an automatic-metrics chunk) sleeps
``BTI_TEST_METRICS_DELAY`` seconds. Usage: ``python -m tests.faults.slow_worker -A workers worker ...``
(celery's arguments)."""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    import explainers

    delay = float(os.environ.get("BTI_TEST_EXPLAIN_DELAY", "0"))
    original = explainers.explain_pairs

    def slow_explain_pairs(*args, **kwargs):
        time.sleep(delay)
        return original(*args, **kwargs)

    explainers.explain_pairs = slow_explain_pairs  # compute.py looks it up at call time

    import explainers.faithfulness

    metrics_delay = float(os.environ.get("BTI_TEST_METRICS_DELAY", "0"))
    original_faithfulness = explainers.faithfulness.faithfulness

    def slow_faithfulness(*args, **kwargs):
        time.sleep(metrics_delay)
        return original_faithfulness(*args, **kwargs)

    explainers.faithfulness.faithfulness = slow_faithfulness  # auto_metrics imports it at call time
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
