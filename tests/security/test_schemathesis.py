"""Schemathesis against the OpenAPI schema, every operation, as a researcher (token) and as a judge
(session cookie and CSRF token, like judge.js): no 500, and every answer matches the schema.

It runs on PostgreSQL whenever the server is reachable (the suite's default; with ``CI=true`` it
must be): PostgreSQL refuses what SQLite stores (a NUL in text, an integer beyond 64 bits), so
only there does a missing check show up as a server error.

The app runs in-process as a WSGI application inside the test's transaction (like Django's test
client, the connection is kept open across requests). The data is real: a round open for rating
whose judge has assignments (so that the judge's assignments, item and rating endpoints get
past their 404s), a draft round, and an imported catalog with a job. Path ids are swapped for the
ids of those objects half of the time. Every operation is generated in both modes, valid and
invalid bodies, plus schemathesis's coverage phase (boundaries such as maximum + 1 and null).
Nothing reaches the task broker: ``apply_async`` is replaced by a no-op.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks

from bti_eval.catalogs import services as catalogs_services
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds import services as round_services
from tests.security.conftest import World, make_world

# Cases per operation and role; SCHEMATHESIS_MAX_EXAMPLES raises it for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
REAL_IDS: dict[str, list[object]] = {}


def _wsgi_app():
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


# Loaded at import (pytest-django has set Django up by then): the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", _wsgi_app())


@schema.hook
def map_path_parameters(context, path_parameters):
    """A real object's id instead of the generated one, for all but one share of the values."""
    for name, value in (path_parameters or {}).items():
        candidates = REAL_IDS.get(name) or []
        slot = zlib.crc32(str(value).encode()) % (len(candidates) + 1)
        if slot < len(candidates):
            path_parameters[name] = candidates[slot]
    return path_parameters


@pytest.fixture
def world_ids(db, monkeypatch):
    """A fresh world whose ids the hook uses; requests run in this thread, on this test's transaction."""
    monkeypatch.setattr("celery.app.task.Task.apply_async", lambda self, *args, **kwargs: None)
    from django.conf import settings
    from django.db import connection

    if settings.POSTGRES_AVAILABLE:
        assert connection.vendor == "postgresql"
    world = make_world()
    draft = round_services.round_create(name="draft", pairs=ParagraphPair.objects.all(), methods=["bti"])
    catalog = b"id,text\n1,Soft wool gloves.\n2,Knitted gloves in wool.\n3,Slim-fit jeans.\n"
    catalog = catalogs_services.catalog_import(
        content=catalog, filename="c.csv", name="catalog", id_column="id", text_column="text"
    )
    job = catalogs_services.catalog_embed(catalog=catalog, by=world.researcher)
    with served(
        world,
        # The open round and a draft (launch and options get past their 409s on the draft).
        round_id=[world.round.pk, draft.pk],
        catalog_id=[catalog.pk],
        job_id=[job.pk],
        judge_id=[world.other_judge.pk],
        link_id=[world.study_link.pk],
    ):
        yield world


@contextmanager
def served(world: World, **real_ids: list[object]) -> Iterator[World]:
    """``world`` ready for the calls schemathesis makes: the judge's browser session and CSRF cookie,
    as the judge page sets them (``world.judge_cookies``), a researcher token (``world.researcher_token``),
    requests answered on this test's connection, and path ids swapped for ``real_ids`` and the judge's
    first two items (``public_id``)."""
    # Django's test client reconnects close_old_connections after each request: use it before disconnecting.
    browser = world.client("judge")
    assert browser.get("/rate/next/", follow=True).status_code == 200
    world.judge_cookies = {name: morsel.value for name, morsel in browser.cookies.items()}
    world.researcher_token = Token.objects.create(user=world.researcher).key
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    REAL_IDS.clear()
    REAL_IDS.update(
        real_ids,
        public_id=list(world.judge.assignments.order_by("position").values_list("public_id", flat=True)[:2]),
    )
    try:
        yield world
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


# "No 500 and no schema violation": every answer is documented (status, content type, headers) and
# matches its schema; undeclared methods get 405. Left out: positive_data_acceptance and
# negative_data_rejection (business rules reject some schema-valid bodies; unknown query parameters
# are ignored, as everywhere in DRF) and ignored_auth (this test sends its credentials itself;
# tests/security/test_authorization.py checks every route without them).
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.unsupported_method,
]


@pytest.mark.slow
@schema.parametrize()
@SETTINGS
def test_every_operation_as_a_researcher(case, world_ids):
    case.call_and_validate(headers={"Authorization": f"Token {world_ids.researcher_token}"}, checks=CHECKS)


@pytest.mark.slow
@schema.parametrize()
@SETTINGS
def test_every_operation_as_a_judge(case, world_ids):
    cookies = world_ids.judge_cookies
    case.call_and_validate(headers={"X-CSRFToken": cookies["csrftoken"]}, cookies=cookies, checks=CHECKS)
