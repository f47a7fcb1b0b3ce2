"""train-recobert: a few seeded steps lower the loss and write a model dir load_encoder accepts."""

from __future__ import annotations

import json

import pytest
import torch

from explainers.catalog import CatalogItem
from explainers.errors import InputError, ModelLoadError
from explainers.recobert import mask_tokens, split_holdout, title_text_recall, train_recobert

COLOURS = ["red", "blue", "green", "black", "white", "yellow", "pink", "grey"]
GARMENTS = ["shirt", "dress", "sock", "scarf"]


def tiny_catalog() -> list[CatalogItem]:
    items = []
    for i, colour in enumerate(COLOURS):
        for j, garment in enumerate(GARMENTS):
            items.append(
                CatalogItem(
                    id=f"{i}-{j}",
                    title=f"{colour} {garment}",
                    text=f"a soft {colour} cotton {garment} with long sleeves and a {colour} collar",
                )
            )
    return items


def test_a_few_steps_lower_the_loss_and_write_a_loadable_model(tmp_path, tiny_model_dir):
    import explainers

    items = tiny_catalog() + [CatalogItem(id="untitled", text="no title here")]
    kwargs = dict(model=tiny_model_dir, epochs=6, batch_size=8, lr=2e-3, seed=0, holdout=0.25)
    result = train_recobert(items, tmp_path / "m1", **kwargs)
    assert result["steps"] == 6 * (24 // 8) and result["train_items"] == 24
    assert result["untitled"] == 1 and len(result["holdout_ids"]) == 8 and result["mlm_head_initialised"]
    losses = result["losses"]
    assert len(losses) == len(result["cosine_losses"]) == len(result["mlm_losses"]) == result["steps"]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.1  # it learns
    for a, c, m in zip(losses, result["cosine_losses"], result["mlm_losses"], strict=True):
        assert a == pytest.approx(c + m, rel=1e-5)

    again = train_recobert(items, tmp_path / "m2", **kwargs)
    assert again["losses"] == pytest.approx(losses, rel=1e-4)  # seeded

    encoder = explainers.load_encoder(tmp_path / "m1", device="cpu")
    assert encoder.model.config.hidden_size == 32
    saved = json.loads((tmp_path / "m1" / "recobert.json").read_text())
    assert saved["holdout_ids"] == result["holdout_ids"] and saved["settings"]["seed"] == 0
    start = explainers.load_encoder(tiny_model_dir, device="cpu")
    assert not torch.allclose(encoder.embed(["red shirt"]), start.embed(["red shirt"]))
    held = [it for it in items if it.id in set(result["holdout_ids"])]
    assert 0.0 <= title_text_recall(encoder, held, k=3) <= 1.0
    [explanation] = explainers.explain_pairs(encoder, [("red shirt", "a red cotton shirt")], "bti")
    assert explanation.model == "m1"


def test_bad_inputs_are_clear_errors(tmp_path, tiny_model_dir):
    items = tiny_catalog()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        train_recobert(items, tmp_path / "full", model=tiny_model_dir, max_steps=1)
    with pytest.raises(InputError, match="at least 2 items"):
        train_recobert([CatalogItem(id="1", text="a", title="")] * 3, tmp_path / "o", model=tiny_model_dir)
    with pytest.raises(InputError, match="holdout"):
        split_holdout(items, 1.0)
    with pytest.raises(ModelLoadError):
        train_recobert(items, tmp_path / "o", model=tmp_path / "missing", max_steps=1)
    assert not (tmp_path / "o").exists()


def test_mask_tokens_masks_only_content(tiny_encoder):
    tokenizer = tiny_encoder.tokenizer
    ids = torch.randint(1000, 2000, (4, 50))
    content = torch.ones(4, 50, dtype=torch.bool)
    content[:, 0] = content[:, -1] = False
    masked, labels = mask_tokens(ids, content, tokenizer, probability=0.5, generator=torch.Generator().manual_seed(0))
    chosen = labels != -100
    assert not chosen[:, 0].any() and not chosen[:, -1].any()
    assert 0.3 < chosen.float().mean() < 0.7
    assert torch.equal(labels[chosen], ids[chosen]) and torch.equal(masked[~chosen], ids[~chosen])
    assert (masked[chosen] == tokenizer.mask_token_id).float().mean() > 0.6


def test_title_text_recall_is_one_when_each_title_is_its_text(tiny_encoder):
    items = [CatalogItem(id=str(i), title=text, text=text) for i, text in enumerate(GARMENTS + COLOURS)]
    assert title_text_recall(tiny_encoder, items, k=1) == 1.0


def test_title_text_recall_counts_own_text_in_the_top_k(monkeypatch):
    import explainers.recobert as recobert

    # Cosines of each title with texts x0..x3; its own text's rank decides the hits.
    vectors = {
        "t0": [1.0, 0.0, 0.0],  # x0 1.0, x3 0.71, x1 0, x2 0: own text first
        "t1": [1.0, 0.1, 0.0],  # x0 0.99, x3 0.77, x1 0.10, x2 0: own text third
        "t2": [1.0, 0.0, 0.9],  # x0 0.74, x2 0.67, x3 0.53, x1 0: own text second
        "t3": [0.0, -1.0, 1.0],  # x2 0.71, x0 0, x3 -0.5, x1 -0.71: own text third
        "x0": [1.0, 0.0, 0.0],
        "x1": [0.0, 1.0, 0.0],
        "x2": [0.0, 0.0, 1.0],
        "x3": [1.0, 1.0, 0.0],
    }
    monkeypatch.setattr(
        recobert, "embed_texts", lambda encoder, texts, batch_tokens: torch.tensor([vectors[t] for t in texts])
    )
    items = [CatalogItem(id=str(i), title=f"t{i}", text=f"x{i}") for i in range(4)]
    assert title_text_recall(None, items, k=1) == 0.25
    assert title_text_recall(None, items, k=2) == 0.5
    assert title_text_recall(None, items, k=3) == 1.0
    assert title_text_recall(None, items, k=10) == 1.0  # k past the item count: every text is in
    with pytest.raises(InputError):
        title_text_recall(None, [], k=1)


def test_cli_train_recobert(tmp_path, tiny_model_dir, capsys):
    from explainers import cli

    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text(
        "".join(json.dumps({"sku": it.id, "name": it.title, "desc": it.text}) + "\n" for it in tiny_catalog()),
        encoding="utf-8",
    )
    out = tmp_path / "model"
    argv = [
        "train-recobert",
        "--catalog",
        str(catalog),
        "--id-column",
        "sku",
        "--title-column",
        "name",
        "--text-column",
        "desc",
        "--output",
        str(out),
        "--max-steps",
        "2",
        "--batch-size",
        "4",
        "--model",
        str(tiny_model_dir),
        "--holdout",
        "0.1",
    ]
    assert cli.main(argv) == 0
    err = capsys.readouterr().err
    assert "trained 2 steps" in err and (out / "config.json").is_file() and (out / "tokenizer.json").is_file()
    assert cli.main(argv) == 2  # the output now exists
    assert "already exists" in capsys.readouterr().err
