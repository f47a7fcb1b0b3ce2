"""Fixtures: researcher users/clients, a small catalog, and Celery run in-process (eager)."""

from __future__ import annotations

import pytest

from tests.researcher_fixtures import *  # noqa: F403

CATALOG = (
    "sku,name,desc\n"
    '1,Red shirt,"A red cotton shirt with two buttons"\n'
    '2,Blue shirt,"A blue cotton shirt with three buttons"\n'
    '3,Copy,"A red cotton shirt with two buttons"\n'
    "4,Nothing,\n"
    '5,Wool socks,"Warm wool socks for winter"\n'
    '6,Green dress,"A long green summer dress"\n'
    '7,Black scarf,"A black knitted scarf"\n'
)


@pytest.fixture
def catalog_bytes() -> bytes:
    return CATALOG.encode("utf-8")


@pytest.fixture
def eager_celery():
    from workers.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


@pytest.fixture
def catalog(db, catalog_bytes, researcher):
    from bti_eval.catalogs.services import catalog_import

    return catalog_import(
        content=catalog_bytes,
        filename="shop.csv",
        name="shop",
        id_column="sku",
        text_column="desc",
        title_column="name",
        by=researcher,
    )


@pytest.fixture
def embedded(catalog, tiny_model_dir, eager_celery, django_capture_on_commit_callbacks):
    from bti_eval.catalogs.services import catalog_embed

    with django_capture_on_commit_callbacks(execute=True):
        job = catalog_embed(catalog=catalog, model=str(tiny_model_dir))
    return job
