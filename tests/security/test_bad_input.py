"""Bad input is a clear 400 (or 404), never a 500: JSON nested 1,000 deep, integers beyond 64 bits,
integers of 5,000 digits, NUL characters, a CSV cell over the field size limit. On PostgreSQL (the
suite's database when it is reachable) several of these reached the database and failed there."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from bti_eval.catalogs.models import Catalog
from bti_eval.judging.models import Rating
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound

DEEP = "[" * 1000 + "]" * 1000
BIG = 10**20
HUGE_INT = "1" * 5000


def _json(client, method: str, url: str, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.generic(method, url, data, content_type="application/json")


def _message(response) -> str:
    return response.json()["message"]


# --- JSON nesting ----------------------------------------------------------------------------


def test_deeply_nested_json_is_a_clear_400_on_the_judges_rating(world):
    client = world.client("judge")
    public_id = world.judge.assignments.first().public_id
    url = f"/api/judge/assignments/{public_id}/rating/"
    for body in (DEEP, '{"score": ' + DEEP + "}", '{"score": 3, "seconds": ' + DEEP + "}"):
        response = _json(client, "PUT", url, body)
        assert response.status_code == 400, response.content
        assert "nested deeper than 64 levels" in _message(response)
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/api/rounds/"),
        ("PATCH", "/api/rounds/{round}/"),
        ("POST", "/api/rounds/{round}/judges/"),
        ("POST", "/api/rounds/{round}/auto-metrics/"),
        ("POST", "/api/catalogs/{catalog}/embed/"),
        ("POST", "/api/catalogs/{catalog}/mine/"),
        ("POST", "/api/catalogs/{catalog}/train-recobert/"),
    ],
)
def test_deeply_nested_json_is_a_clear_400_on_every_json_endpoint(world, method, url):
    catalog = Catalog.objects.create(name="c", id_column="id", text_column="t")
    response = _json(world.client("researcher"), method, url.format(round=world.round.pk, catalog=catalog.pk), DEEP)
    assert response.status_code == 400, response.content
    assert "nested deeper than 64 levels" in _message(response)


def test_json_at_a_sane_depth_and_brackets_in_strings_still_parse(world):
    client = world.client("judge")
    public_id = world.judge.assignments.first().public_id
    body = '{"score": 4, "seconds": 2.5, "note": "' + "[" * 500 + '"}'  # brackets in a string do not nest
    response = _json(client, "PUT", f"/api/judge/assignments/{public_id}/rating/", body)
    assert response.status_code == 201, response.content


def test_an_integer_of_thousands_of_digits_is_a_clear_400(world):
    response = _json(world.client("researcher"), "POST", "/api/rounds/", '{"name": "x", "seed": ' + HUGE_INT + "}")
    assert response.status_code == 400
    assert "5,000 digits" in _message(response) and "at most 4,300" in _message(response)


# --- integers beyond 64 bits -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "all_pairs": True, "seed": BIG}, "seed"),
        ({"name": "x", "all_pairs": True, "seed": -BIG}, "seed"),
        ({"name": "x", "pairs": [BIG]}, "pairs"),
        ({"name": "x", "all_pairs": True, "limit": BIG}, "limit"),
        ({"name": "x", "all_pairs": True, "control_items": BIG}, "control_items"),
        ({"name": "x", "all_pairs": True, "top_k": BIG}, "top_k"),
    ],
    ids=["seed", "negative-seed", "pair-id", "limit", "control-items", "top-k"],
)
def test_integers_beyond_64_bits_in_a_round_are_a_clear_400(world, body, field):
    rounds_before = EvaluationRound.objects.count()
    response = _json(world.client("researcher"), "POST", "/api/rounds/", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["extra"]["fields"]
    assert EvaluationRound.objects.count() == rounds_before


def test_a_seed_beyond_64_bits_in_the_round_form_is_a_form_error(world):
    response = world.client("researcher").post(
        "/rounds/new/", {"name": "x", "seed": str(BIG), "methods": ["bti"], "top_k": "2"}
    )
    assert response.status_code == 400
    assert "less than or equal to 9223372036854775807" in response.content.decode()


def test_catalog_mining_and_training_seeds_are_bounded(world):
    client = world.client("researcher")
    catalog = Catalog.objects.create(name="c", id_column="id", text_column="t")
    for url, body in (("mine", {"seeds": 1, "random_seed": BIG}), ("train-recobert", {"seed": BIG, "epochs": BIG})):
        response = _json(client, "POST", f"/api/catalogs/{catalog.pk}/{url}/", body)
        assert response.status_code == 400, response.content


@pytest.mark.parametrize("url", ["/api/rounds/", "/api/pairs/"])
@pytest.mark.parametrize(
    "query", [f"limit={BIG}", f"offset={BIG}", "limit=0", "limit=abc", "offset=-1", f"limit={HUGE_INT}"]
)
def test_limit_and_offset_out_of_range_are_a_clear_400(world, url, query):
    response = world.client("researcher").get(f"{url}?{query}")
    assert response.status_code == 400, response.content
    name = query.split("=")[0]
    assert _message(response).startswith(f"{name} must be a whole number from")


def test_limit_and_offset_in_range_page_as_before(world):
    response = world.client("researcher").get("/api/pairs/?limit=1&offset=1")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and len(body["results"]) == 1


@pytest.mark.parametrize(
    "url",
    [f"/api/rounds/{BIG}/", f"/api/rounds/{BIG}/progress/", f"/api/catalogs/{BIG}/", f"/rounds/{BIG}/"],
)
def test_an_id_beyond_64_bits_in_a_url_is_a_404(world, url):
    assert world.client("researcher").get(url).status_code == 404


# --- imports: JSONL limits, NUL characters, long CSV cells -----------------------------------


def _import(client, name: str, content: bytes):
    return client.post("/api/pairs/import/", {"file": SimpleUploadedFile(name, content), "source": "s"})


def _row_errors(response) -> list[dict]:
    return response.json()["extra"]["errors"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "2", "a": "x", "b": "y", "extra": ' + DEEP + "}", "nested deeper than 64 levels"),
        ('{"id": ' + HUGE_INT + ', "a": "x", "b": "y"}', "a number has 5,000 digits"),
    ],
    ids=["deep", "huge-int"],
)
def test_a_jsonl_line_too_deep_or_with_a_huge_integer_names_its_line(world, line, expected):
    client = world.client("researcher")
    good = '{"id": "1", "a": "x", "b": "y"}'
    response = _import(client, "p.jsonl", f"{good}\n{line}\n".encode())
    assert response.status_code == 400
    [error] = _row_errors(response)
    assert error["row"] == 2 and expected in error["message"]
    alone = _import(client, "p.jsonl", f"{line}\n".encode())  # no line readable at all
    assert alone.status_code == 400 and "line 1" in _message(alone) and expected in _message(alone)
    assert not ParagraphPair.objects.filter(source="s").exists()


@pytest.mark.parametrize(
    ("name", "content", "column"),
    [
        ("p.csv", b"id,a,b\n1,fine,text\n2,bro\x00ken,text\n", "a"),
        ("p.jsonl", b'{"id": "1", "a": "fine", "b": "t"}\n{"id": "2", "a": "x", "b": "bro\\u0000ken"}\n', "b"),
    ],
    ids=["csv", "jsonl"],
)
def test_a_nul_character_in_pair_text_is_a_row_error_naming_line_and_column(world, name, content, column):
    client = world.client("researcher")
    response = _import(client, name, content)
    assert response.status_code == 400, response.content
    [error] = _row_errors(response)
    assert error["row"] == 3 if name.endswith(".csv") else error["row"] == 2
    assert f"column {column!r} contains a NUL character" in error["message"]
    assert not ParagraphPair.objects.filter(source="s").exists()
    page = client.post("/pairs/import/", {"file": SimpleUploadedFile(name, content), "source": "s"}, follow=True)
    assert "NUL character" in page.content.decode()


def test_a_nul_character_in_a_catalog_is_a_clear_400(world):
    client = world.client("researcher")
    upload = SimpleUploadedFile("c.csv", b"id,text\n1,Soft gloves\n2,bro\x00ken\n")
    response = client.post("/api/catalogs/", {"file": upload, "name": "c", "id_column": "id", "text_column": "text"})
    assert response.status_code == 400
    assert "line 3" in _message(response) and "NUL character" in _message(response)
    assert not Catalog.objects.exists()


def test_nul_characters_in_names_are_refused_by_the_fields(world):
    client = world.client("researcher")
    assert _json(client, "POST", "/api/rounds/", {"name": "a\x00b", "all_pairs": True}).status_code == 400
    response = _json(client, "POST", f"/api/rounds/{world.round.pk}/judges/", {"name": "Ann\x00"})
    assert response.status_code == 400 and "Null characters" in str(response.json()["extra"])


def test_a_csv_cell_over_the_field_limit_says_it_is_too_long_and_gives_the_limit(world):
    response = _import(world.client("researcher"), "p.csv", b"id,a,b\n1," + b"x" * 378_000 + b",y\n")
    assert response.status_code == 400
    message = _message(response)
    assert "malformed" not in message
    assert "longer than 131,072 characters" in message and "line 2" in message
    assert response.json()["extra"]["max_field_characters"] == 131072
