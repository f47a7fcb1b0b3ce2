"""Method plugins (entry-point group ``explainers.methods``): listing, validation, broken plugins and
the method contract checked on every batch.

The example plugin (tests/plugin_example, gradient × input) is path-installed into a temporary folder;
the broken cases are fake distributions written by hand (tests/plugin_install.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

import explainers
from explainers import registry
from explainers.errors import MethodError, NonFiniteScoresError, UnknownMethodError
from explainers.saliency import pair_cosine
from tests.plugin_install import (
    EXAMPLE_METHOD,
    EXAMPLE_SOURCE,
    EXAMPLE_TITLE,
    WRAP_BTI,
    broken_distribution,
    fake_distribution,
    fake_plugin,
    method_module,
    on_path,
)

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    ("Soft wool gloves with touchscreen fingertips.", "Knitted wool gloves that work with touchscreens."),
    ("A long viscose dress with a V-neck.", "Maxi dress in soft viscose with a deep neckline and short sleeves."),
    ("Cotton socks.", "Socks in a soft cotton blend with ribbed cuffs."),
]


def run_cli(*args: str, extra_path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [extra_path, str(ROOT)]))}
    return subprocess.run(
        [sys.executable, "-m", "explainers", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


# --- the example plugin ------------------------------------------------------------------------


def test_an_installed_plugin_is_listed_after_the_built_ins_with_its_title_and_source(example_plugin):
    methods = explainers.available_methods()
    assert methods[: len(registry.METHODS)] == list(registry.METHODS) and methods[-1] == EXAMPLE_METHOD
    method = explainers.get_method(EXAMPLE_METHOD)
    assert (method.title, method.source, method.is_plugin, method.default) == (
        EXAMPLE_TITLE,
        EXAMPLE_SOURCE,
        True,
        False,
    )
    assert EXAMPLE_METHOD not in registry.default_methods()  # a new round's defaults stay the paper's seven
    assert registry.method_title(EXAMPLE_METHOD) == EXAMPLE_TITLE
    assert registry.broken_plugins() == []


def test_without_the_plugin_its_method_is_unknown():
    assert EXAMPLE_METHOD not in explainers.available_methods()
    with pytest.raises(UnknownMethodError):
        explainers.get_method(EXAMPLE_METHOD)


def test_listing_methods_imports_the_plugins_entry_point_but_no_model_library(example_plugin):
    code = (
        "import sys, json\nfrom explainers import registry\n"
        f"names = registry.available_methods(); registry.get_method({EXAMPLE_METHOD!r}).check()\n"
        "print(json.dumps([names, 'explainers_grad_input' in sys.modules, 'torch' in sys.modules,"
        " 'explainers_grad_input.scores' in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": f"{example_plugin}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names, entry_module, torch_loaded, function_module = json.loads(done.stdout)
    assert EXAMPLE_METHOD in names and entry_module
    assert not torch_loaded and not function_module


def test_the_cli_lists_built_ins_and_plugins_with_their_source(example_plugin):
    result = run_cli("methods", extra_path=str(example_plugin))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == explainers.available_methods()
    assert lines[0].split()[0] == "bti" and lines[0].endswith("built-in")
    assert EXAMPLE_TITLE in lines[-1] and lines[-1].endswith(f"plugin {EXAMPLE_SOURCE}")


def test_the_plugin_explains_pairs_with_its_own_saliency(tiny_encoder, example_plugin):
    ours = explainers.explain_pairs(tiny_encoder, PAIRS, EXAMPLE_METHOD)
    bti = explainers.explain_pairs(tiny_encoder, PAIRS, "bti")
    for explanation, reference in zip(ours, bti, strict=True):
        assert explanation.method == EXAMPLE_METHOD and explanation.pairs
        assert explanation.similarity == pytest.approx(reference.similarity, abs=1e-6)  # the same encoder cosine
        assert [w.text for w in explanation.words[0]] == [w.text for w in reference.words[0]]
    saliency = [w.saliency for e in ours for w in e.words[0]]
    assert saliency != [w.saliency for e in bti for w in e.words[0]]  # signed: not BTI's ReLU
    assert len(set(saliency)) > 3  # not a constant


def test_the_plugins_scores_sum_to_the_derivative_of_the_cosine_along_the_embeddings(tiny_model_dir, example_plugin):
    """Σ_i T_i · g_i = d/dε C((1 + ε) T_a, F_b) at ε = 0, checked by central finite differences
    (float64 model, so that the difference quotient is exact to ~1e-8)."""
    encoder = explainers.load_encoder(tiny_model_dir, device="cpu")
    encoder.model.double()
    batch = encoder.batch(encoder.tokenize(list(PAIRS[0])))
    scores = explainers.get_method(EXAMPLE_METHOD).load()(encoder, batch, token_budget=10_000)
    assert scores.token_scores.shape == tuple(batch.ids.shape)

    def cosine(eps: float) -> float:
        with torch.inference_mode():
            tokens = encoder.token_embeddings(batch.ids)  # (2, length, hidden), float64
            tokens[0] *= 1 + eps  # paragraph a only; b as it is
            return float(pair_cosine(encoder.pool(encoder.hidden_states(tokens, batch.attention_mask), batch)))

    eps = 1e-5
    derivative = (cosine(eps) - cosine(-eps)) / (2 * eps)
    assert abs(derivative) > 1e-4  # a real signal to compare
    assert float(scores.token_scores[0].sum()) == pytest.approx(derivative, rel=1e-4)


# --- refused plugins -----------------------------------------------------------------------------


def test_a_plugin_that_fails_to_import_is_listed_with_its_error_and_named_when_used(tmp_path, tiny_model_dir):
    folder = broken_distribution(tmp_path, "broken_dist_entry")
    with on_path(folder):
        assert "broken-method" not in explainers.available_methods()
        [broken] = registry.broken_plugins()
        assert (broken.name, broken.source) == ("broken-method", "broken-dist 2.3")
        assert "ModuleNotFoundError" in broken.error and "missing_dependency_xyz" in broken.error
        with pytest.raises(MethodError, match=r"method 'broken-method' \(plugin broken-dist 2\.3\) cannot be used"):
            explainers.get_method("broken-method")

        listed = run_cli("methods", extra_path=str(folder))
        assert listed.returncode == 0 and "bti" in listed.stdout
        assert (
            "not available" in listed.stdout and "broken-method  plugin broken-dist 2.3: cannot import" in listed.stdout
        )

        used = run_cli(
            "explain", "a b", "c d", "--method", "broken-method", "--model", str(tiny_model_dir), extra_path=str(folder)
        )
        assert used.returncode == 2 and "Traceback" not in used.stderr
        assert "error: method 'broken-method' (plugin broken-dist 2.3) cannot be used" in used.stderr
        assert "missing_dependency_xyz" in used.stderr


def test_a_plugin_whose_function_fails_to_import_is_named_when_explaining(tmp_path, tiny_encoder):
    folder = fake_plugin(tmp_path, "late-dist", "late-method", body="import missing_dependency_abc\n")
    with on_path(folder):
        method = explainers.get_method("late-method")  # its light entry point imported fine
        method.check()  # the module exists; finding it does not run it
        with pytest.raises(MethodError) as caught:
            explainers.explain_pairs(tiny_encoder, PAIRS[:1], "late-method")
    message = str(caught.value)
    assert message.startswith("method 'late-method' (plugin late-dist 1.0) cannot import its function")
    assert "missing_dependency_abc" in message


def test_check_finds_a_missing_function_module_without_importing_anything(tmp_path):
    folder = fake_distribution(
        tmp_path,
        "gone-dist",
        entry_points={"gone-method": "gone_dist_entry:METHOD"},
        modules={"gone_dist_entry": method_module("Method('gone-method', 'Gone', 'gone_dist_nowhere.scores:f')")},
    )
    with on_path(folder):
        with pytest.raises(MethodError, match=r"'gone-method' \(plugin gone-dist 1\.0\): module 'gone_dist_nowhere"):
            explainers.get_method("gone-method").check()


@pytest.mark.parametrize(
    ("entry_name", "method", "error"),
    [
        ("bti", "Method('bti', 'My BTI', 'm:f')", "shadows the built-in method 'bti'"),
        ("control", "Method('control', 'Control', 'm:f')", "'control' is reserved"),
        ("other-name", "Method('my-method', 'Mine', 'm:f')", "called 'other-name' but its Method is named 'my-method'"),
        ("Bad_Name", "Method('Bad_Name', 'Bad', 'm:f')", "lowercase letters, digits and single hyphens"),
        (
            "same-title",
            "Method('same-title', 'vanilla gradients', 'm:f')",
            "already the title of method 'vanilla-gradients'",
        ),
        ("no-title", "Method('no-title', '  ', 'm:f')", "title must be one line of text"),
        ("bad-target", "Method('bad-target', 'Bad target', 'just_a_module')", "score_batch must be 'module:function'"),
        (
            "bad-words",
            "Method('bad-words', 'Bad words', 'm:f', words='bag')",
            "words must be one of encoder, tfidf-w2v",
        ),
        ("bad-option", "Method('bad-option', 'Bad option', 'm:f', options={'alpha'})", "unknown option(s) 'alpha'"),
        ("a-function", "len", "names a builtin_function_or_method, not an explainers.registry.Method"),
    ],
)
def test_invalid_plugin_methods_are_refused_with_the_reason(tmp_path, entry_name, method, error):
    module = f"invalid_{uuid.uuid4().hex[:8]}"
    folder = fake_distribution(
        tmp_path,
        "invalid-dist",
        entry_points={entry_name: f"{module}:METHOD"},
        modules={module: method_module(method)},
    )
    with on_path(folder):
        [broken] = registry.broken_plugins()
        assert broken.name == entry_name and broken.source == "invalid-dist 1.0"
        assert error in broken.error
        assert entry_name not in registry.all_methods() or entry_name == "bti"
        assert explainers.available_methods()[: len(registry.METHODS)] == list(registry.METHODS)
    assert registry.get_method("bti").source == registry.BUILT_IN  # a shadowing plugin never replaces it


def test_a_name_two_distributions_register_is_refused_for_both(tmp_path):
    first = fake_plugin(tmp_path, "first-dist", "twin-method", title="Twin one", body=WRAP_BTI + "    return s\n")
    second = fake_plugin(
        tmp_path, "second-dist", "twin-method", title="Twin two", body=WRAP_BTI + "    return s\n", version="3.1"
    )
    with on_path(first, second):
        assert "twin-method" not in explainers.available_methods()
        [broken] = registry.broken_plugins()
        assert "more than one distribution (first-dist 1.0; second-dist 3.1)" in broken.error
        with pytest.raises(MethodError, match=r"'twin-method' \(plugin first-dist 1\.0 and second-dist 3\.1\)"):
            explainers.get_method("twin-method")
    with on_path(first):  # either alone is fine
        assert explainers.get_method("twin-method").source == "first-dist 1.0"


def test_a_plugin_cannot_change_the_defaults(tmp_path):
    folder = fake_plugin(tmp_path, "eager-dist", "eager-method", body=WRAP_BTI + "    return s\n")
    with on_path(folder):
        assert explainers.get_method("eager-method").default is False  # Method's default=True is overridden
        assert registry.default_methods() == [name for name in registry.METHODS if registry.METHODS[name].default]


def test_unreadable_entry_points_leave_the_built_ins_usable(monkeypatch):
    def unreadable(**_):
        raise ValueError("bad entry_points.txt")

    monkeypatch.setattr(registry.importlib.metadata, "entry_points", unreadable)
    registry.refresh()
    try:
        assert explainers.available_methods() == list(registry.METHODS)
        [broken] = registry.broken_plugins()
        assert "could not be read: ValueError: bad entry_points.txt" in broken.error
    finally:
        monkeypatch.undo()
        registry.refresh()


# --- the method contract, on every batch ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            "    s.token_scores = s.token_scores[:, :-1]\n    return s\n",
            r"returned token_scores of shape \(2, \d+\); this batch needs \(2, \d+\)",
        ),
        (
            "    s.similarity = s.similarity[:0]\n    return s\n",
            r"returned similarity of shape \(0,\); this batch needs \(1,\)",
        ),
        (
            "    s.hidden = None\n    return s\n",
            r"returned hidden as NoneType, not a float numpy array of shape \(2, \d+, any\)",
        ),
        (
            "    import torch\n    s.token_scores = torch.from_numpy(s.token_scores)\n    return s\n",
            r"returned token_scores as Tensor.*\.detach\(\)\.float\(\)\.cpu\(\)\.numpy\(\)",
        ),
        (
            "    s.token_scores = s.token_scores.astype(int)\n    return s\n",
            r"returned token_scores of dtype int64, not a float array",
        ),
        ("    s.diagnostics = [1]\n    return s\n", r"returned diagnostics that are not dicts"),
        ("    return s.token_scores\n", r"returned a ndarray, not explainers.saliency.BatchScores"),
        ("    raise RuntimeError('boom in the plugin')\n", r"failed: RuntimeError: boom in the plugin"),
    ],
    ids=["token-scores-shape", "similarity-shape", "no-hidden", "tensor", "int", "diagnostics", "type", "raises"],
)
def test_a_plugin_that_breaks_the_contract_gets_an_error_naming_it(tmp_path, tiny_encoder, change, error):
    folder = fake_plugin(tmp_path, "shape-dist", "shape-method", body=WRAP_BTI + change, version="0.9")
    with on_path(folder):
        with pytest.raises(MethodError, match=r"^method 'shape-method' \(plugin shape-dist 0\.9\) " + error):
            explainers.explain_pairs(tiny_encoder, PAIRS[:1], "shape-method")


def test_non_finite_scores_name_their_pairs(tmp_path, tiny_encoder):
    body = WRAP_BTI + (
        "    import numpy as np\n"
        "    if s.similarity.size == 3:\n"
        "        s.token_scores[2, 1] = np.nan  # pair 1 of the batch, paragraph a, a content token\n"
        "    return s\n"
    )
    folder = fake_plugin(tmp_path, "nan-dist", "nan-method", body=body)
    with on_path(folder):
        with pytest.raises(
            NonFiniteScoresError, match=r"'nan-method' \(plugin nan-dist 1\.0\) gave NaN or infinite"
        ) as caught:
            explainers.explain_pairs(tiny_encoder, PAIRS, "nan-method", token_budget=10_000)
        assert len(explainers.explain_pairs(tiny_encoder, PAIRS[:1], "nan-method")) == 1
    # The batch is sorted by length: its pair 1 is one of the input's; the message names that one.
    lengths = [max(len(tiny_encoder.tokenize([a, b], ["a", "b"])[i].ids) for i in (0, 1)) for a, b in PAIRS]
    assert str(caught.value).endswith(f"for pair {int(np.argsort(lengths, kind='stable')[1])}")


def test_padding_and_special_tokens_may_hold_anything(tmp_path, tiny_encoder):
    body = WRAP_BTI + "    import numpy as np\n    s.token_scores[:, 0] = np.nan  # [CLS], never read\n    return s\n"
    folder = fake_plugin(tmp_path, "cls-dist", "cls-method", body=body)
    with on_path(folder):
        [explanation] = explainers.explain_pairs(tiny_encoder, PAIRS[:1], "cls-method")
    assert all(np.isfinite(w.saliency) for side in explanation.words for w in side)


def test_every_built_in_passes_the_contract(tiny_encoder):
    for name in registry.METHODS:
        options = {"steps": 4} if "steps" in registry.METHODS[name].options else {}
        assert len(explainers.explain_pairs(tiny_encoder, PAIRS, name, **options)) == len(PAIRS)
