"""What a model directory says about its encoder, read from its JSON files alone (no torch), so that
the web process can use it too (the import's token-limit warning).

Two layouts load:

- **a plain Hugging Face transformers directory** (``config.json``, weights, a fast tokenizer).
  F is Eq. 1: the mean of the last layer over the content tokens ([CLS], [SEP] and padding left out).
- **a sentence-transformers directory** (``modules.json``), as ``SentenceTransformer(dir)`` reads it:
  a ``Transformer`` module (its ``path`` may be ``""``, the directory itself, or e.g. ``0_Transformer``;
  its ``sentence_bert_config.json`` gives ``max_seq_length`` and ``do_lower_case``), one ``Pooling``
  module (``mean``, ``cls``, ``max`` or ``mean_sqrt_len_tokens``, from the newer ``pooling_mode`` key
  or the older ``pooling_mode_*_tokens`` booleans) and an optional ``Normalize``. F is the model's own
  sentence embedding: sentence-transformers pools over every attention-masked token, the special
  tokens included, so the explained similarity is the similarity the model was trained for.

A sentence-transformers module the explainers cannot reproduce exactly (``Dense``, ``LayerNorm``,
a ``Router``, any custom or unknown type, two pooling modes concatenated, weighted-mean or
last-token pooling, a default prompt, a similarity other than the cosine) is refused with a
:class:`ModelLoadError` that names it: a model is never explained with an F it does not compute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, ModelLoadError

# Options of ``load_encoder`` (the CLI's --dtype / --pooling, a round's dtype / pooling fields).
DTYPES = ("fp32", "bf16", "fp16")
POOLING_MODES = ("mean", "cls", "max", "mean-sqrt-len")

# sentence-transformers' pooling mode names -> ours; the legacy boolean keys in their concatenation order.
_ST_MODES = {"mean": "mean", "cls": "cls", "max": "max", "mean_sqrt_len_tokens": "mean-sqrt-len"}
_ST_LEGACY_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
# The Transformer module's config, under the names sentence-transformers has used for it.
_ST_TRANSFORMER_CONFIGS = (
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
    "sentence_xlnet_config.json",
)
_ST_SUPPORTED = ("Transformer", "Pooling", "Normalize")


@dataclass(frozen=True)
class Layout:
    """A model directory's encoder, as its files describe it.

    ``transformer``: the directory holding ``config.json``, the weights and the tokenizer (the root
    of a plain dir, the Transformer module's path of a sentence-transformers dir). ``pooling``: one
    of POOLING_MODES; ``pooled_tokens``: ``"content"`` (Eq. 1: special tokens left out) or
    ``"attention"`` (every attention-masked token, as sentence-transformers pools); ``normalize``:
    F is L2-normalised (a Normalize module; the cosine is the same either way); ``max_seq_length``:
    sentence-transformers' token limit (None when the dir sets none); ``lower_case``: texts are
    lower-cased before tokenizing (sentence-transformers' ``do_lower_case``).
    """

    root: Path
    transformer: Path
    sentence_transformers: bool
    pooling: str = "mean"
    pooled_tokens: str = "content"
    normalize: bool = False
    max_seq_length: int | None = None
    lower_case: bool = False


def check_dtype(dtype: str) -> str:
    """``dtype`` if it is one of DTYPES, else an InputError listing them."""
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return dtype


def check_pooling(pooling: str | None) -> str | None:
    """``pooling`` (None or "" = the model's own) if it is one of POOLING_MODES, else an InputError."""
    if pooling in (None, ""):
        return None
    if pooling not in POOLING_MODES:
        raise InputError(
            f"pooling must be one of {', '.join(POOLING_MODES)} (or empty: the model's own), got {pooling!r}"
        )
    return pooling


def read_layout(path: str | Path) -> Layout:
    """The :class:`Layout` of the model directory ``path``: sentence-transformers when it has a
    ``modules.json``, else a plain transformers dir. Raises ModelLoadError for a sentence-transformers
    dir the explainers cannot reproduce (see the module docstring) or whose files are broken."""
    root = Path(path)
    if not (root / "modules.json").is_file():
        return Layout(root=root, transformer=root, sentence_transformers=False)
    modules = _read_json(root / "modules.json", root)
    if not isinstance(modules, list) or not all(isinstance(m, dict) and "type" in m for m in modules):
        raise ModelLoadError(f"the modules.json of {str(root)!r} is not a list of modules with a type")
    kinds = [_module_kind(m) for m in modules]
    expected = ["Transformer", "Pooling"] + (["Normalize"] if len(kinds) == 3 else [])
    if kinds != expected:
        unknown = [m["type"] for m, kind in zip(modules, kinds, strict=True) if kind not in _ST_SUPPORTED]
        what = f"a {unknown[0]!r} module" if unknown else f"the modules {' → '.join(map(str, kinds))}"
        raise ModelLoadError(
            f"{str(root)!r} is a sentence-transformers model with {what}, which the explainers cannot reproduce "
            "exactly; they explain a Transformer followed by one Pooling and an optional Normalize module"
        )
    transformer = root / str(modules[0].get("path") or "")
    settings = _transformer_settings(transformer, root)
    pooling = _pooling_mode(root / str(modules[1].get("path") or ""), root)
    normalize = len(kinds) == 3
    _check_similarity(root, normalize)
    max_seq_length = settings.get("max_seq_length")
    return Layout(
        root=root,
        transformer=transformer,
        sentence_transformers=True,
        pooling=pooling,
        pooled_tokens="attention",
        normalize=normalize,
        max_seq_length=int(max_seq_length) if isinstance(max_seq_length, int) and max_seq_length > 0 else None,
        lower_case=bool(settings.get("do_lower_case", False)),
    )


def _module_kind(module: dict[str, Any]) -> str | None:
    """ "Transformer", "Pooling", "Normalize", ... of a sentence-transformers module type (old names
    ``sentence_transformers.models.Pooling`` and new ones ``...modules.pooling.Pooling`` alike)."""
    kind = str(module["type"])
    return kind.rsplit(".", 1)[-1] if kind.startswith("sentence_transformers.") else None


def _transformer_settings(transformer: Path, root: Path) -> dict[str, Any]:
    if not transformer.is_dir():
        raise ModelLoadError(
            f"the Transformer module of {str(root)!r} names {str(transformer)!r}, which does not exist"
        )
    for name in _ST_TRANSFORMER_CONFIGS:
        if (transformer / name).is_file():
            settings = _read_json(transformer / name, root)
            if not isinstance(settings, dict):
                raise ModelLoadError(f"{str(transformer / name)!r} is not a JSON object")
            task = settings.get("transformer_task", "feature-extraction")
            if task != "feature-extraction":
                raise ModelLoadError(
                    f"the Transformer module of {str(root)!r} runs the task {task!r}; the explainers explain "
                    "feature-extraction encoders (their last hidden layer, pooled)"
                )
            return settings
    return {}


def _pooling_mode(directory: Path, root: Path) -> str:
    """The one pooling mode of a Pooling module's config.json, as one of POOLING_MODES."""
    config = _read_json(directory / "config.json", root)
    if not isinstance(config, dict):
        raise ModelLoadError(f"the Pooling config of {str(root)!r} is not a JSON object")
    if "pooling_mode" in config:
        modes = config["pooling_mode"]
        modes = [modes] if isinstance(modes, str) else list(modes)
    else:  # older dirs: one boolean per mode; none set means mean (as sentence-transformers reads them)
        modes = [mode for key, mode in _ST_LEGACY_KEYS.items() if config.get(key)] or ["mean"]
    if len(modes) != 1 or modes[0] not in _ST_MODES:
        raise ModelLoadError(
            f"{str(root)!r} pools with {' + '.join(map(str, modes)) or 'no mode'}; the explainers reproduce one of "
            f"these sentence-transformers pooling modes: {', '.join(_ST_MODES)}"
        )
    return _ST_MODES[modes[0]]


def _check_similarity(root: Path, normalize: bool) -> None:
    """The model's similarity must be the cosine (BTI's C), and no default prompt may be prepended."""
    path = root / "config_sentence_transformers.json"
    if not path.is_file():
        return
    config = _read_json(path, root)
    if not isinstance(config, dict):
        return
    similarity = config.get("similarity_fn_name") or "cosine"
    if similarity != "cosine" and not (similarity in ("dot", "dot_product") and normalize):
        raise ModelLoadError(
            f"{str(root)!r} scores pairs with the {similarity!r} similarity; BTI explains the cosine of the two "
            "embeddings (a dot product of normalised embeddings is the cosine too)"
        )
    prompt_name = config.get("default_prompt_name")
    if prompt_name and (config.get("prompts") or {}).get(prompt_name):
        raise ModelLoadError(
            f"{str(root)!r} prepends the prompt {prompt_name!r} to every text by default; the explainers explain "
            "the text as given, so they would not explain what the model computes"
        )


def _read_json(path: Path, root: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(
            f"the sentence-transformers model {str(root)!r} has no {path.name} in {str(path.parent)!r}"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read {str(path)!r}: {exc}") from None
