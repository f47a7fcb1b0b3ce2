"""Schemathesis against the OpenAPI schema, every operation, as a researcher (token) and as a judge
(session cookie and CSRF token, like judge.js): no 500, and every answer matches the schema.

The app runs in-process as a WSGI application inside the test's transaction (like Django's test
client, the connection is kept open across requests). Path ids are swapped for the ids of real
objects half of the time, so that the operations get past their 404s. Nothing reaches the task
broker: ``apply_async`` is replaced by a recorder.
"""

from __future__ import annotations

import zlib

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks

from tests.security.conftest import make_world

MAX_EXAMPLES = 20
REAL_IDS: dict[str, object] = {}


def _wsgi_app():
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler()


# Loaded at import (pytest-django has set Django up by then): the schema view needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", _wsgi_app())


@schema.hook
def map_path_parameters(context, path_parameters):
    for name, value in (path_parameters or {}).items():
        if name in REAL_IDS and zlib.crc32(str(value).encode()) % 2 == 0:
            path_parameters[name] = REAL_IDS[name]
    return path_parameters


@pytest.fixture
def world_ids(db, monkeypatch):
    """A fresh world whose ids the hook uses; requests run in this thread, on this test's transaction."""
    monkeypatch.setattr("celery.app.task.Task.apply_async", lambda self, *args, **kwargs: None)
    world = make_world()
    # The judge's browser session and CSRF cookie, as the judge page sets them. (Django's test
    # client reconnects close_old_connections after each request: use it before disconnecting.)
    browser = world.client("judge")
    assert browser.get("/rate/next/", follow=True).status_code == 200
    world.judge_cookies = {name: morsel.value for name, morsel in browser.cookies.items()}
    world.researcher_token = Token.objects.create(user=world.researcher).key
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    REAL_IDS.clear()
    REAL_IDS.update(
        round_id=world.round.pk,
        judge_id=world.other_judge.pk,
        public_id=world.judge.assignments.order_by("position").first().public_id,
    )
    yield world
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
