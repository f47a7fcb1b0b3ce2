"""The model an explanation, a metric or a catalog job runs on: its path, its device, and the
explainers Encoder loaded once per worker process.

Imported by every app that computes with a model (rounds, results, catalogs), so that none of them
imports another's worker code. torch and transformers load only when ``encoder_get`` runs.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_CACHED_ENCODERS = 2

_encoders: OrderedDict[tuple[str | None, str | None, int | None, str, str], Any] = OrderedDict()
_encoders_lock = threading.Lock()


def model_path(model: str = "") -> str | None:
    """A round's or job's model for ``explainers.load_encoder``: the name itself, else
    settings.BTI_DEFAULT_MODEL, else None (the packaged all-MiniLM-L6-v2)."""
    return model or settings.BTI_DEFAULT_MODEL or None


def explain_device() -> str | None:
    """settings.BTI_EXPLAIN_DEVICE, or None (CUDA when available, else CPU)."""
    return settings.BTI_EXPLAIN_DEVICE or None


def encoder_get(*, model: str = "", random_seed: int | None = None, dtype: str = "fp32", pooling: str = "") -> Any:
    """The explainers Encoder for ``model`` ("" = settings.BTI_DEFAULT_MODEL, then the packaged one);
    with ``random_seed``, the same architecture with random weights from that seed (the sanity test).
    ``dtype`` (fp32, bf16, fp16) is the forward's precision and ``pooling`` ("" = the model's own,
    else mean, cls, max or mean-sqrt-len) how F is pooled: a round's options.

    Loaded once per worker process and kept (the last MAX_CACHED_ENCODERS, keyed by (model path,
    device, random seed, dtype, pooling)); the device is settings.BTI_EXPLAIN_DEVICE, or CUDA when
    available, else CPU.
    """
    import explainers

    path, device = model_path(model), explain_device()
    key = (path, device, random_seed, dtype, pooling)
    with _encoders_lock:
        if key in _encoders:
            _encoders.move_to_end(key)
            return _encoders[key]
        options = {"device": device, "dtype": dtype, "pooling": pooling or None}
        if random_seed is None:
            encoder = explainers.load_encoder(path, **options)
        else:
            encoder = explainers.load_encoder(path, random_init=True, seed=random_seed, **options)
        _encoders[key] = encoder
        while len(_encoders) > MAX_CACHED_ENCODERS:
            _encoders.popitem(last=False)
        logger.info("loaded encoder %r on %s%s", encoder, encoder.device, "" if random_seed is None else " (random)")
        return encoder
