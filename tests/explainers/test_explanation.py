"""The Explanation dataclass and its JSON form."""

from __future__ import annotations

import json

import explainers
from explainers import Explanation, Word, WordPair
from explainers.registry import method_title
from tests.explanation_payloads import explanation_payload


def _explanation(**extra) -> Explanation:
    """The dataclasses of ``explanation_payload()``: two words a side, two pairs."""
    return Explanation(
        method="bti",
        model="tiny",
        similarity=0.69,
        truncated=False,
        words=(
            [Word("wool", 5, 9, 1.0), Word("gloves", 10, 16, 0.8)],
            [Word("gloves", 9, 15, 0.9), Word("wool", 24, 28, 0.5)],
        ),
        pairs=[WordPair(1, 0, 0.94, 0.68), WordPair(0, 1, 0.91, 0.45)],
        **extra,
    )


def test_to_dict_is_the_json_contract():
    data = _explanation().to_dict()
    assert data == explanation_payload()  # every key, word and pair, and nothing else
    assert list(data) == ["method", "model", "similarity", "truncated", "words", "pairs"]
    assert json.loads(json.dumps(data)) == data


def test_diagnostics_only_when_present_and_round_trip():
    with_diagnostics = _explanation(diagnostics={"completeness_error": [1e-5, 2e-5]})
    data = with_diagnostics.to_dict()
    assert data["diagnostics"] == {"completeness_error": [1e-5, 2e-5]}
    assert Explanation.from_dict(data) == with_diagnostics
    assert Explanation.from_dict({**_explanation().to_dict(), "id": 7}) == _explanation()


def test_public_api():
    assert explainers.available_methods() == [
        "bti",
        "bti-last-layer",
        "bti-activations",
        "bti-gradients",
        "vanilla-gradients",
        "integrated-gradients",
        "tfidf-w2v",
        "integrated-jacobians",
    ]
    assert explainers.get_method("bti").title == "BTI"
    assert method_title("bti-gradients") == "BTI (gradients only)" and method_title("control") == "control"
    for name in ("load_encoder", "explain_pairs", "Encoder"):
        assert callable(getattr(explainers, name))
    assert issubclass(explainers.ModelLoadError, explainers.ExplainerError)
    assert issubclass(explainers.UnknownMethodError, explainers.ExplainerError)
    assert issubclass(explainers.InputError, explainers.ExplainerError)
