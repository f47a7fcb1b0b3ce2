"""Mixed precision (``dtype`` bf16 / fp16): the forward runs under autocast, everything after it in
float32, and BTI's word saliencies keep their ranks (Spearman >= 0.99 against fp32)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import explainers
from explainers import saliency

PAIR = ("Warm winter gloves with touchscreen-compatible fingertips.", "These gloves keep your hands warm.")


def test_bf16_runs_the_forward_in_bf16_and_the_rest_in_float32(tiny_model_dir, tiny_encoder):
    encoder = explainers.load_encoder(tiny_model_dir, device="cpu", dtype="bf16")
    assert encoder.model_info()["dtype"] == "bf16"
    assert next(encoder.model.parameters()).dtype == torch.float32  # weights untouched
    seen = []
    query = encoder.model.encoder.layer[0].attention.self.query
    hook = query.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    try:
        batch = encoder.batch(encoder.tokenize(list(PAIR)))
        scores = saliency.bti(encoder, batch)
    finally:
        hook.remove()
    assert seen and set(seen) == {torch.bfloat16}
    assert scores.token_scores.dtype == np.float32 and scores.hidden.dtype == np.float32
    exact = saliency.bti(tiny_encoder, tiny_encoder.batch(tiny_encoder.tokenize(list(PAIR))))
    assert scores.similarity[0] != exact.similarity[0]  # computed in bf16 indeed...
    assert scores.similarity[0] == pytest.approx(exact.similarity[0], abs=1e-2)  # ...and close
    [explanation] = explainers.explain_pairs(encoder, [PAIR], "bti")
    assert explanation.to_dict()["model_info"]["dtype"] == "bf16"


def test_a_dtype_the_device_cannot_run_is_a_clear_error(tiny_model_dir, monkeypatch):
    def unsupported(device_type, dtype, **options):
        raise RuntimeError(f"autocast does not support {dtype} on {device_type}")

    monkeypatch.setattr(torch, "autocast", unsupported)
    with pytest.raises(explainers.InputError, match="dtype fp16 is not supported on cpu"):
        explainers.load_encoder(tiny_model_dir, device="cpu", dtype="fp16")


def _fashion_pairs(shared_data, n: int = 10) -> list[tuple[str, str]]:
    """``n`` pairs of distinct H&M descriptions (the first 2n distinct ones, in file order)."""
    path = shared_data / "fashion" / "hm_articles_sample.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    with path.open(encoding="utf-8", newline="") as f:
        texts = list(
            dict.fromkeys(row["detail_desc"].strip() for row in csv.DictReader(f) if row["detail_desc"].strip())
        )
    texts = texts[: 2 * n]
    return list(zip(texts[0::2], texts[1::2], strict=True))


@pytest.mark.slow  # the real default model, bf16 on a CPU (slow without native bf16)
def test_bf16_keeps_bti_word_saliency_ranks_on_real_pairs(shared_data):
    """Per explanation: Spearman of the word saliencies (both paragraphs) against fp32 >= 0.99 for
    each of 10 real pairs, and the similarity within 5e-3. (Near-identical paragraphs are left out:
    there the cosine's gradient vanishes and any precision's rounding decides the ranks.)"""
    pairs = _fashion_pairs(shared_data)
    fp32 = explainers.explain_pairs(explainers.load_encoder(device="cpu"), pairs, "bti")
    bf16 = explainers.explain_pairs(explainers.load_encoder(device="cpu", dtype="bf16"), pairs, "bti")
    rhos = []
    for exact, mixed in zip(fp32, bf16, strict=True):
        a = [w.saliency for side in exact.words for w in side]
        b = [w.saliency for side in mixed.words for w in side]
        rhos.append(spearmanr(a, b).statistic)
        assert mixed.similarity == pytest.approx(exact.similarity, abs=5e-3)
    assert len(rhos) == 10 and min(rhos) >= 0.99, rhos
