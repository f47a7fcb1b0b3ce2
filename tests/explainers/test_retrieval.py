"""Retrieval: embedding by token budget, exact chunked cosine top-k, pairs, and the neighbours CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from explainers.catalog import CatalogItem
from explainers.errors import InputError
from explainers.retrieval import (
    choose_seeds,
    embed_texts,
    neighbours,
    text_groups,
    token_budget_batches,
    top_k_cosine,
)


def naive_top_k(vectors: torch.Tensor, seeds: list[int], k: int, groups: torch.Tensor):
    unit = F.normalize(vectors, dim=1)
    sims = unit[seeds] @ unit.T  # the full (seeds, n) matrix at once
    sims[groups[seeds][:, None] == groups[None, :]] = float("-inf")
    return torch.topk(sims, k, dim=1)


def neighbours_argv(catalog: Path, output: Path, *, id_column: str, text_column: str, **options) -> list[str]:
    """``neighbours`` CLI arguments: ``--catalog``, the columns, ``options`` (``title_column="title"``
    is ``--title-column title``) and ``--output``."""
    argv = ["neighbours", "--catalog", str(catalog), "--id-column", id_column, "--text-column", text_column]
    for name, value in options.items():
        argv += [f"--{name.replace('_', '-')}", str(value)]
    return [*argv, "--output", str(output)]


@pytest.mark.parametrize("seed_chunk,item_chunk", [(1024, 32768), (3, 7), (1, 1), (5, 50)])
def test_chunked_top_k_equals_the_full_matrix(seed_chunk, item_chunk):
    g = torch.Generator().manual_seed(0)
    vectors = torch.randn(50, 16, generator=g)
    seeds = [0, 7, 49, 21, 3, 8, 30]
    groups = torch.arange(50)
    for k in (1, 4):
        scores, index = top_k_cosine(vectors, seeds, k, seed_chunk=seed_chunk, item_chunk=item_chunk)
        expected = naive_top_k(vectors, seeds, k, groups)
        assert scores.shape == index.shape == (len(seeds), k)
        torch.testing.assert_close(scores, expected.values, atol=1e-6, rtol=0)
        assert torch.equal(index, expected.indices)
    top1 = top_k_cosine(vectors, seeds, 1, item_chunk=9)[1][:, 0]
    sims = F.normalize(vectors, dim=1)[seeds] @ F.normalize(vectors, dim=1).T
    sims[torch.arange(len(seeds)), seeds] = -2
    assert torch.equal(top1, sims.argmax(dim=1))  # the naive argmax


def test_identical_texts_are_never_candidates_and_short_rows_are_padded():
    texts = ["a red wine", "a red wine", "  a red wine ", "a white wine", "a rosé"]
    groups = text_groups(texts)
    assert groups.tolist() == [0, 0, 0, 1, 2]
    vectors = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.01], [0.9, 0.1], [0.0, 1.0]])
    scores, index = top_k_cosine(vectors, [0, 3], 4, groups=groups, item_chunk=2)
    assert index[0].tolist() == [3, 4, -1, -1]  # its copies (and itself) are left out
    assert torch.isinf(scores[0, 2:]).all()
    assert index[1, 0] == 2 and set(index[1, 1:3].tolist()) == {0, 1} and index[1, 3] == 4


def test_neighbours_give_pair_import_dicts_with_ranks():
    items = [CatalogItem(id=str(i), text=t, title=f"T{i}") for i, t in enumerate(["x", "y", "z", "x "])]
    vectors = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.99, 0.01]])
    pairs = neighbours(items, vectors, [0, 2], k=2)
    assert [(p["id"], p["rank"]) for p in pairs] == [("0→1", 1), ("0→2", 2), ("2→1", 1), ("2→3", 2)]
    first = pairs[0]
    assert set(first) == {"id", "a", "b", "a_id", "b_id", "title_a", "title_b", "similarity", "rank"}
    assert (first["a"], first["b"], first["title_a"], first["title_b"]) == ("x", "y", "T0", "T1")
    assert first["similarity"] == pytest.approx(0.8)
    assert [p["b_id"] for p in neighbours(items, vectors, [3], 1)] == ["1"]  # "x " equals "x": not a candidate


def test_choose_seeds_is_reproducible_and_checks_ids():
    items = [CatalogItem(id=str(i), text=str(i)) for i in range(100)]
    assert choose_seeds(items, 10, seed=3) == choose_seeds(items, 10, seed=3)
    assert choose_seeds(items, 10, seed=3) != choose_seeds(items, 10, seed=4)
    assert len(set(choose_seeds(items, 500, seed=0))) == 100
    assert choose_seeds(items, ids=["5", "2"]) == [5, 2]
    with pytest.raises(InputError, match="unknown seed id"):
        choose_seeds(items, ids=["x"])


def test_token_budget_batches_cover_everything_within_the_budget():
    lengths = [5, 30, 12, 12, 7, 100, 3]
    batches = token_budget_batches(lengths, 40)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 40


def test_embed_texts_matches_one_text_at_a_time(tiny_encoder):
    texts = ["short one", "a much longer paragraph about knitted wool sweaters with long sleeves", "mid size text"]
    batched = embed_texts(tiny_encoder, texts, batch_tokens=64)
    single = torch.cat([tiny_encoder.embed([t]) for t in texts])
    assert batched.shape == (3, tiny_encoder.model.config.hidden_size)
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)
    # Eq. 1 by hand for one text: mean over the content tokens, [CLS] and [SEP] excluded.
    enc = tiny_encoder.tokenizer(texts[2], return_tensors="pt")
    with torch.inference_mode():
        hidden = tiny_encoder.model(**enc).last_hidden_state[0, 1:-1]
    torch.testing.assert_close(batched[2], hidden.mean(0), atol=1e-5, rtol=1e-4)


@pytest.mark.django_db
def test_cli_round_trip_catalog_to_pairs_to_a_round(tmp_path, tiny_model_dir, capsys):
    from bti_eval.pairs.services import pairs_import
    from bti_eval.rounds.services import round_create
    from explainers import cli

    catalog = tmp_path / "catalog.csv"
    rows = ["id,title,description"]
    rows += [
        f'{i},Item {i},"A {c} cotton shirt with {n} buttons"'
        for i, (c, n) in enumerate(
            [("red", "two"), ("blue", "three"), ("green", "four"), ("black", "five"), ("white", "six")]
        )
    ]
    rows += ['5,Copy,"A red cotton shirt with two buttons"', "6,Empty,", '7,Other,"Wool socks"']
    catalog.write_text("\n".join(rows) + "\n", encoding="utf-8")
    output = tmp_path / "pairs.jsonl"
    options = {"title_column": "title", "seeds": 3, "k": 2, "seed": 1, "model": tiny_model_dir}
    argv = neighbours_argv(catalog, output, id_column="id", text_column="description", **options)
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "1 skipped as empty" in err and "1 skipped as exact duplicates" in err and "wrote 6 pairs" in err
    pairs = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(pairs) == 6 and [p["rank"] for p in pairs] == [1, 2] * 3
    assert all(p["a"] != p["b"] and p["a_id"] != p["b_id"] for p in pairs)
    assert cli.main(argv) == 0  # same seed, same pairs
    assert [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()] == pairs

    result = pairs_import(content=output.read_bytes(), filename="pairs.jsonl", source="catalog:shirts")
    assert result.created == 6
    from bti_eval.pairs.models import ParagraphPair

    imported = list(ParagraphPair.objects.filter(source="catalog:shirts"))
    assert {p.external_id for p in imported} == {p["id"] for p in pairs}
    rnd = round_create(name="shirts", pairs=imported, methods=["bti"])
    assert rnd.pairs.count() == 6


def test_cli_errors_exit_2(tmp_path, capsys):
    from explainers import cli

    catalog = tmp_path / "catalog.csv"
    catalog.write_text("id,description\n1,a\n", encoding="utf-8")
    code = cli.main(neighbours_argv(catalog, tmp_path / "out.jsonl", id_column="id", text_column="text", seeds=1))
    assert code == 2
    assert "error: catalog" in capsys.readouterr().err and not (tmp_path / "out.jsonl").exists()


@pytest.mark.slow
def test_python_m_explainers_neighbours_on_the_fashion_sample(shared_data, tiny_model_dir, tmp_path):
    output = tmp_path / "pairs.jsonl"
    catalog = shared_data / "fashion" / "hm_articles_sample.csv"
    options = {"title_column": "prod_name", "seeds": 20, "k": 3, "seed": 5, "model": tiny_model_dir}
    argv = [sys.executable, "-m", "explainers"]
    argv += neighbours_argv(catalog, output, id_column="article_id", text_column="detail_desc", **options)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert "skipped as empty" in done.stderr and "skipped as exact duplicates" in done.stderr
    pairs = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(pairs) == 60 and len({p["a_id"] for p in pairs}) == 20
    assert all(p["a"].strip() != p["b"].strip() for p in pairs)
    for seed_pairs in (pairs[i : i + 3] for i in range(0, 60, 3)):
        sims = [p["similarity"] for p in seed_pairs]
        assert sims == sorted(sims, reverse=True) and [p["rank"] for p in seed_pairs] == [1, 2, 3]
