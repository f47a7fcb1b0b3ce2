"""The Explanation dataclass and its JSON form."""

from __future__ import annotations

import json

import explainers
from explainers import Explanation, Word, WordPair
from explainers.registry import method_title


def _explanation(**extra) -> Explanation:
    return Explanation(
        method="bti",
        model="all-MiniLM-L6-v2",
        similarity=0.69,
        truncated=False,
        words=([Word("Our", 0, 3, 0.2), Word("gloves", 4, 10, 1.0)], [Word("gloves", 0, 6, 1.0)]),
        pairs=[WordPair(1, 0, 0.94, 0.94)],
        **extra,
    )


def test_to_dict_is_the_json_contract():
    data = _explanation().to_dict()
    assert data == {
        "method": "bti",
        "model": "all-MiniLM-L6-v2",
        "similarity": 0.69,
        "truncated": False,
        "words": [
            [
                {"text": "Our", "start": 0, "end": 3, "saliency": 0.2},
                {"text": "gloves", "start": 4, "end": 10, "saliency": 1.0},
            ],
            [{"text": "gloves", "start": 0, "end": 6, "saliency": 1.0}],
        ],
        "pairs": [{"a": 1, "b": 0, "word_similarity": 0.94, "score": 0.94}],
    }
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
    ]
    assert explainers.get_method("bti").title == "BTI"
    assert method_title("bti-gradients") == "BTI (gradients only)" and method_title("control") == "control"
    for name in ("load_encoder", "explain_pairs", "Encoder"):
        assert callable(getattr(explainers, name))
    assert issubclass(explainers.ModelLoadError, explainers.ExplainerError)
    assert issubclass(explainers.UnknownMethodError, explainers.ExplainerError)
    assert issubclass(explainers.InputError, explainers.ExplainerError)
