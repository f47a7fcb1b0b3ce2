"""load_encoder: local dirs only, clear errors, seeded random init, pooling (Eq. 1)."""

from __future__ import annotations

import shutil

import pytest
import torch

import explainers
from explainers.encoder import load_encoder


def test_missing_dir(tmp_path):
    with pytest.raises(explainers.ModelLoadError, match="does not exist"):
        load_encoder(tmp_path / "nope")


def test_dir_without_config(tmp_path):
    with pytest.raises(explainers.ModelLoadError, match="no config.json"):
        load_encoder(tmp_path)


def test_broken_weights(tmp_path, tiny_model_dir):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(explainers.ModelLoadError, match="cannot load the weights"):
        load_encoder(broken)


def test_weights_that_do_not_match_the_config(tmp_path, tiny_model_dir):
    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    config = (other / "config.json").read_text().replace('"num_hidden_layers": 2', '"num_hidden_layers": 3')
    (other / "config.json").write_text(config)
    with pytest.raises(explainers.ModelLoadError, match="do not match"):
        load_encoder(other)


def test_bad_device(tiny_model_dir):
    with pytest.raises(explainers.InputError, match="invalid device"):
        load_encoder(tiny_model_dir, device="warp-drive")


def test_loads_on_cpu_in_eval_mode(tiny_encoder, tiny_model_dir):
    assert tiny_encoder.name == tiny_model_dir.name
    assert tiny_encoder.device == torch.device("cpu")
    assert tiny_encoder.max_length == 512 and tiny_encoder.n_prefix == 1
    assert not tiny_encoder.model.training
    assert tiny_encoder.tokenizer.is_fast


def test_random_init_is_seeded_and_leaves_the_global_rng(tiny_model_dir, tiny_encoder):
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = load_encoder(tiny_model_dir, device=torch.device("cpu"), random_init=True, seed=1)
    assert torch.equal(torch.rand(3), expected_next)
    again = load_encoder(tiny_model_dir, random_init=True, seed=1, device="cpu")
    other = load_encoder(tiny_model_dir, random_init=True, seed=2, device="cpu")
    name = "encoder.layer.0.attention.self.query.weight"
    trained = dict(tiny_encoder.model.named_parameters())[name]
    weights = [dict(m.model.named_parameters())[name] for m in (first, again, other)]
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[0], weights[2])
    assert not torch.equal(weights[0], trained)
    assert not first.model.training


def test_embed_is_mean_pooling_without_specials(tiny_encoder):
    texts = ["Warm gloves.", "A much longer paragraph about a warm winter jumper."]
    vectors = tiny_encoder.embed(texts, batch_size=1)
    assert vectors.shape == (2, tiny_encoder.model.config.hidden_size)
    for text, vector in zip(texts, vectors, strict=True):
        with torch.no_grad():
            hidden = tiny_encoder.model(**tiny_encoder.tokenizer(text, return_tensors="pt")).last_hidden_state
        torch.testing.assert_close(vector, hidden[0, 1:-1].mean(0), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tiny_encoder.embed(texts, batch_size=2), vectors, atol=1e-5, rtol=1e-5)


def test_random_init_changes_the_explanation(tiny_model_dir, tiny_encoder):
    pair = [("Warm winter gloves with touchscreen fingertips.", "These gloves keep your hands warm.")]
    # seed 1: the tiny model itself was made by torch.manual_seed(0) + the same init
    random = load_encoder(tiny_model_dir, random_init=True, seed=1, device="cpu")
    trained = explainers.explain_pairs(tiny_encoder, pair, "bti")[0]
    shuffled = explainers.explain_pairs(random, pair, "bti")[0]
    assert [w.saliency for w in trained.words[0]] != [w.saliency for w in shuffled.words[0]]
