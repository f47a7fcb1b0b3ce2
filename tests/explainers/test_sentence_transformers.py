"""Sentence-transformers directories load as they are: F is the model's own pooling (checked against
sentence-transformers itself, the reference), the limit is its max_seq_length, and what cannot be
reproduced exactly is refused. Also the ``pooling`` override on a plain transformers dir."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as functional

import explainers
from explainers import saliency
from explainers.encoder import model_dir

TEXTS = [
    "Warm winter gloves with touchscreen-compatible fingertips.",
    "These gloves let you use your phone without taking them off, even in the cold.",
    "A soft cotton T-shirt.",
    "Slim-fit jeans in washed denim with five pockets and a zip fly.",
]
OLD = "sentence_transformers.models."  # module type names of older sentence-transformers
NEW = {
    "Transformer": "sentence_transformers.base.modules.transformer.Transformer",
    "Pooling": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
    "Normalize": "sentence_transformers.sentence_transformer.modules.normalize.Normalize",
}


def write_st_dir(
    directory: Path,
    transformer: Path,
    *,
    pooling: dict,
    path: str = "",
    normalize: bool = False,
    old_names: bool = False,
    settings: dict | None = None,
    extra_modules: tuple[dict, ...] = (),
    st_config: dict | None = None,
) -> Path:
    """A sentence-transformers dir written by hand: the ``transformer`` dir's files under ``path``,
    modules.json, the Pooling config ``pooling``, optionally Normalize, other modules and
    config_sentence_transformers.json."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copytree(transformer, directory / path, dirs_exist_ok=True)

    def kind(name: str) -> str:
        return OLD + name if old_names else NEW[name]

    modules = [{"idx": 0, "name": "0", "path": path, "type": kind("Transformer")}]
    modules.append({"idx": 1, "name": "1", "path": "1_Pooling", "type": kind("Pooling")})
    modules += [{"idx": 2 + i, "name": str(2 + i), **m} for i, m in enumerate(extra_modules)]
    if normalize:
        modules.append(
            {"idx": len(modules), "name": str(len(modules)), "path": "9_Normalize", "type": kind("Normalize")}
        )
    (directory / "modules.json").write_text(json.dumps(modules))
    (directory / "1_Pooling").mkdir(exist_ok=True)
    (directory / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **pooling}))
    (directory / path / "sentence_bert_config.json").write_text(
        json.dumps(settings if settings is not None else {"max_seq_length": 64, "do_lower_case": False})
    )
    if st_config is not None:
        (directory / "config_sentence_transformers.json").write_text(json.dumps(st_config))
    return directory


def legacy(mode: str) -> dict:
    keys = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")
    return {f"pooling_mode_{key}": key == mode for key in keys}


def reference(directory: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(directory), device="cpu")


def reference_bti(model, text_a: str, text_b: str) -> list[np.ndarray]:
    """BTI (Eq. 2-4) through sentence-transformers' own forward: T caught at the word-embedding module,
    F = the model's sentence embedding, E = T + P (positions from 0: BERT)."""
    embedding = model[0].auto_model.get_input_embeddings()
    positions = model[0].auto_model.embeddings.position_embeddings.weight

    def forward(text):
        caught = {}

        def leaf(module, inputs, output):
            caught["T"] = output.detach().clone().requires_grad_(True)
            return caught["T"]

        hook = embedding.register_forward_hook(leaf)
        try:
            features = model.tokenize([text])
            pooled = model(features)["sentence_embedding"][0]
        finally:
            hook.remove()
        return caught["T"], pooled

    with torch.enable_grad():
        t_a, f_a = forward(text_a)
        t_b, f_b = forward(text_b)
        (g_a,) = torch.autograd.grad(functional.cosine_similarity(f_a, f_b.detach(), dim=0), t_a)
        (g_b,) = torch.autograd.grad(functional.cosine_similarity(f_a.detach(), f_b, dim=0), t_b)
    out = []
    for t, g in ((t_a, g_a), (t_b, g_b)):
        e = t[0].detach() + positions[: t.shape[1]].detach()
        out.append(torch.relu(e * g[0]).sum(-1)[1:-1].numpy())  # content tokens: [CLS] and [SEP] off
    return out


@pytest.mark.slow  # the real default model, twice
def test_the_default_model_is_explained_as_sentence_transformers_computes_it():
    encoder = explainers.load_encoder(device="cpu")
    assert encoder.max_length == 256  # sentence_bert_config.json, not the 512 position embeddings
    assert encoder.model_info() == {
        "family": "bert",
        "format": "sentence-transformers",
        "pooling": "mean",
        "pooled_tokens": "attention",
        "normalize": True,
        "max_length": 256,
        "dtype": "fp32",
    }
    long_text = " ".join(["gloves"] * 400)  # cut at 256 tokens by both
    texts = [*TEXTS, long_text]
    model = reference(model_dir(None)[0])
    expected = model.encode(texts, convert_to_tensor=True, batch_size=2)
    with pytest.warns(UserWarning, match="limit of 256"):
        ours = encoder.embed(texts)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)
    explanations = explainers.explain_pairs(encoder, [(TEXTS[0], TEXTS[1]), (TEXTS[2], TEXTS[3])], "bti")
    for explanation, (i, j) in zip(explanations, [(0, 1), (2, 3)], strict=True):
        assert explanation.similarity == pytest.approx(float(expected[i] @ expected[j]), abs=1e-5)
        assert explanation.to_dict()["model_info"]["format"] == "sentence-transformers"


ST_CASES = {
    # subfolder Transformer, old module names and boolean keys, CLS pooling
    "cls": {"pooling": legacy("cls_token"), "path": "0_Transformer", "old_names": True},
    # the newer pooling_mode key, max pooling, a Normalize module
    "max": {"pooling": {"pooling_mode": "max"}, "normalize": True},
    "mean-sqrt-len": {"pooling": legacy("mean_sqrt_len_tokens"), "settings": {"max_seq_length": 12}},
    "mean": {"pooling": {"pooling_mode": ["mean"]}, "normalize": True, "st_config": {"similarity_fn_name": "dot"}},
}


@pytest.mark.parametrize("mode", ST_CASES)
def test_a_sentence_transformers_dir_gives_sentence_transformers_similarity_and_bti(tiny_model_dir, tmp_path, mode):
    directory = write_st_dir(tmp_path / "st", tiny_model_dir, **ST_CASES[mode])
    encoder = explainers.load_encoder(directory, device="cpu")
    info = encoder.model_info()
    assert info["format"] == "sentence-transformers" and info["pooling"] == mode
    assert info["normalize"] == ST_CASES[mode].get("normalize", False)
    assert encoder.max_length == ST_CASES[mode].get("settings", {}).get("max_seq_length", 64)
    model = reference(directory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mean-sqrt-len: paragraphs cut at 12 tokens
        ours = encoder.embed(TEXTS, batch_size=2)
    expected = model.encode(TEXTS, convert_to_tensor=True)
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)
    if mode == "mean-sqrt-len":
        return  # paragraphs cut at 12 tokens: the embeddings above already show the same cut
    batch = encoder.batch(encoder.tokenize(TEXTS[:2]))
    scores = saliency.bti(encoder, batch)
    cosine = functional.cosine_similarity(expected[0], expected[1], dim=0)
    assert scores.similarity[0] == pytest.approx(float(cosine), abs=1e-5)
    for row, want in enumerate(reference_bti(model, *TEXTS[:2])):
        got = scores.token_scores[row][batch.content[row].numpy()]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)


def test_a_lower_casing_sentence_transformers_dir_of_another_family(family_dir, tmp_path):
    """A cased byte-level BPE (RoBERTa) under do_lower_case: texts are lower-cased first, as
    sentence-transformers does, and the words keep the original text's offsets."""
    directory = write_st_dir(
        tmp_path / "st-roberta",
        family_dir("roberta"),
        pooling={"pooling_mode": "mean"},
        settings={"max_seq_length": 40, "do_lower_case": True},
    )
    encoder = explainers.load_encoder(directory, device="cpu")
    expected = reference(directory).encode(TEXTS, convert_to_tensor=True)
    torch.testing.assert_close(encoder.embed(TEXTS), expected, atol=1e-5, rtol=1e-4)
    [explanation] = explainers.explain_pairs(encoder, [(TEXTS[0], TEXTS[1])], "bti")
    assert [w.text for w in explanation.words[0]][:2] == ["Warm", "winter"]
    with pytest.raises(explainers.InputError, match="lower-cases its input"):
        explainers.explain_pairs(encoder, [("İstanbul gloves", "gloves")], "bti")


REFUSED = {
    "a Dense module": (
        {"extra_modules": ({"path": "2_Dense", "type": "sentence_transformers.models.Dense"},)},
        "'sentence_transformers.models.Dense' module",
    ),
    "a custom module": (
        {"extra_modules": ({"path": "2_Custom", "type": "my_package.Whitening"},)},
        "'my_package.Whitening' module",
    ),
    "two pooling modes": ({"pooling": {"pooling_mode": ["cls", "mean"]}}, "pools with cls + mean"),
    "weighted mean": ({"pooling": {"pooling_mode_weightedmean_tokens": True}}, "pools with weightedmean"),
    "a dot product of raw embeddings": ({"st_config": {"similarity_fn_name": "dot"}}, "'dot' similarity"),
    "euclidean": ({"normalize": True, "st_config": {"similarity_fn_name": "euclidean"}}, "'euclidean' similarity"),
    "a default prompt": (
        {"st_config": {"prompts": {"query": "query: "}, "default_prompt_name": "query"}},
        "prepends the prompt 'query'",
    ),
    "another task": ({"settings": {"transformer_task": "fill-mask"}}, "runs the task 'fill-mask'"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_what_cannot_be_reproduced_is_refused_naming_it(tiny_model_dir, tmp_path, case):
    options, fragment = REFUSED[case]
    directory = write_st_dir(tmp_path / "st", tiny_model_dir, **{"pooling": {"pooling_mode": "mean"}, **options})
    with pytest.raises(explainers.ModelLoadError) as error:
        explainers.load_encoder(directory, device="cpu")
    assert fragment in str(error.value)


def test_a_missing_pooling_config_is_a_clear_error(tiny_model_dir, tmp_path):
    directory = write_st_dir(tmp_path / "st", tiny_model_dir, pooling={})
    (directory / "1_Pooling" / "config.json").unlink()
    with pytest.raises(explainers.ModelLoadError, match="has no config.json in"):
        explainers.load_encoder(directory, device="cpu")


@pytest.mark.parametrize("mode", ["mean", "cls", "max", "mean-sqrt-len"])
def test_the_pooling_option_overrides_a_plain_dir_over_its_content_tokens(tiny_model_dir, mode):
    """A plain transformers dir pools over the content tokens ([CLS] and [SEP] left out) whatever
    the mode, except CLS, which is [CLS]'s vector."""
    encoder = explainers.load_encoder(tiny_model_dir, device="cpu", pooling=mode)
    assert encoder.model_info()["pooling"] == mode
    with torch.no_grad():
        for text, vector in zip(TEXTS, encoder.embed(TEXTS), strict=True):
            hidden = encoder.model(**encoder.tokenizer(text, return_tensors="pt")).last_hidden_state[0]
            content = hidden[1:-1]
            expected = {
                "mean": content.mean(0),
                "cls": hidden[0],
                "max": content.max(0).values,
                "mean-sqrt-len": content.sum(0) / len(content) ** 0.5,
            }[mode]
            torch.testing.assert_close(vector, expected, atol=1e-5, rtol=1e-5)


def test_the_pooling_option_on_a_sentence_transformers_dir_keeps_its_tokens(tiny_model_dir, tmp_path):
    """--pooling max on a mean-pooled sentence-transformers dir equals sentence-transformers' max
    pooling of the same model (over every attention-masked token)."""
    mean_dir = write_st_dir(tmp_path / "mean", tiny_model_dir, pooling={"pooling_mode": "mean"})
    max_dir = write_st_dir(tmp_path / "max", tiny_model_dir, pooling={"pooling_mode": "max"})
    encoder = explainers.load_encoder(mean_dir, device="cpu", pooling="max")
    torch.testing.assert_close(encoder.embed(TEXTS), reference(max_dir).encode(TEXTS, convert_to_tensor=True))


def test_bad_pooling_and_dtype_options_are_input_errors(tiny_model_dir):
    with pytest.raises(explainers.InputError, match="pooling must be one of mean, cls, max, mean-sqrt-len"):
        explainers.load_encoder(tiny_model_dir, pooling="weighted")
    with pytest.raises(explainers.InputError, match="dtype must be one of fp32, bf16, fp16"):
        explainers.load_encoder(tiny_model_dir, dtype="int8")
