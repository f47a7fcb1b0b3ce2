"""Parameter-randomization sanity test (Adebayo et al. 2018): random weights change the explanation."""

from __future__ import annotations

import json
import math

import pytest

from explainers.sanity import format_report, jaccard, saliency_spearman, sanity_check

from .test_cli import run_cli, write_jsonl

PAIRS = [
    ("Warm wool gloves with a knitted cuff.", "These gloves are knitted from soft wool."),
    ("Short dress in soft jersey with a round neckline.", "A jersey dress, short, with a neckline that is round."),
    ("Ripe cherry and plum flavors with firm tannins.", "Dark plum and cherry fruit, the tannins firm and dry."),
]


def _explanation(saliencies_a, saliencies_b, pairs):
    def side(values):
        return [{"text": "w", "start": 2 * i, "end": 2 * i + 1, "saliency": v} for i, v in enumerate(values)]

    return {"words": [side(saliencies_a), side(saliencies_b)], "pairs": [{"a": a, "b": b} for a, b in pairs]}


def test_spearman_concatenates_both_paragraphs_and_is_none_when_constant():
    trained = _explanation([0.1, 0.9], [0.5, 0.0, 1.0], [(1, 2)])
    assert saliency_spearman(trained, trained) == pytest.approx(1.0)
    # ranks [2, 4, 3, 1, 5] vs [3, 4, 2, 1, 5]: rho = 1 - 6 * 2 / (5 * 24) = 0.9 (not just within one paragraph)
    swapped = _explanation([0.2, 0.9], [0.1, 0.0, 1.0], [(0, 1)])
    assert saliency_spearman(trained, swapped) == pytest.approx(0.9)
    assert saliency_spearman(trained, _explanation([0.0, 0.0], [0.0, 0.0, 0.0], [])) is None
    with pytest.raises(ValueError, match="same words"):
        saliency_spearman(trained, _explanation([0.1], [0.5, 0.0, 1.0], []))


def test_jaccard_of_selected_pairs():
    a = _explanation([0.0], [0.0], [(0, 0), (1, 2), (3, 1)])
    b = _explanation([0.0], [0.0], [(1, 2), (3, 1), (4, 4)])
    assert jaccard(a, b) == pytest.approx(2 / 4)
    assert jaccard(a, a) == 1.0
    assert jaccard(_explanation([], [], []), _explanation([], [], [])) == 1.0


def test_random_weights_change_the_bti_explanation(tiny_model_dir):
    # seed=1: the tiny model itself was built with torch.manual_seed(0), so seed 0 could rebuild its weights.
    report = sanity_check(PAIRS, "bti", model=tiny_model_dir, device="cpu", seed=1)
    assert report["method"] == "bti" and report["pairs"] == len(PAIRS) == len(report["per_pair"])
    assert report["spearman_mean"] is None or -1.0 <= report["spearman_mean"] <= 1.0
    assert 0.0 <= report["jaccard_mean"] <= 1.0
    assert (report["spearman_mean"] is not None and report["spearman_mean"] < 0.99) or report["jaccard_mean"] < 1.0
    assert any(
        not math.isclose(row["similarity_trained"], row["similarity_random"], abs_tol=1e-6)
        for row in report["per_pair"]
    )
    json.dumps(report)  # JSON-safe
    table = format_report(report)
    assert "mean Spearman" in table and "mean Jaccard" in table and len(table.splitlines()) >= 3 + len(PAIRS)


@pytest.mark.slow  # starts a process
def test_sanity_cli_prints_a_table_and_writes_json(tiny_model_dir, tmp_path):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"id": f"p{i}", "a": a, "b": b} for i, (a, b) in enumerate(PAIRS)])
    report_path = tmp_path / "report.json"
    result = run_cli(
        "sanity",
        "--input",
        pairs,
        "--method",
        "bti",
        "--model",
        tiny_model_dir,
        "--seed",
        "1",
        "--output",
        report_path,
    )
    assert result.returncode == 0, result.stderr
    assert "mean Spearman" in result.stdout and "p2" in result.stdout
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert [row["id"] for row in report["per_pair"]] == ["p0", "p1", "p2"]
    assert report["pairs"] == 3 and report["method"] == "bti"
