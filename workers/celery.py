"""The Celery app. Configured from Django settings (``CELERY_*``); tasks live in ``workers.tasks``.

Explanation chunks go to the ``explain`` queue so that GPU workers can consume only those:
``celery -A workers worker -Q explain``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bti_eval.settings.embedded")

app = Celery("bti_eval")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")
app.autodiscover_tasks(["workers"], related_name="corpus_tasks")
