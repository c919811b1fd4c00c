"""The ``pipelines/review_scoring`` example (text: tokens, normal form, sentiment) run by ``etl-cli run``.

The expected rows are computed here with plain Python over the example's CSV file, the scores by calling
vaderSentiment directly.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tests.clihelp import REPO, etl_cli

DATA = REPO / "pipelines" / "review_scoring" / "data"


def _clean(text: str) -> str:
    """Lower-cased, accents stripped, whitespace runs made one space, trimmed (the documented steps)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).strip()


def expected_rows() -> list[tuple[object, ...]]:
    analyser = SentimentIntensityAnalyzer()
    with (DATA / "reviews.csv").open(encoding="utf-8") as fh:
        found: list[tuple[object, ...]] = []
        for r in csv.DictReader(fh):
            text = r["review"] or None  # an empty CSV field is null
            words = None if text is None else re.findall(r"[^\W\d_]+", text.lower())
            clean = None if text is None else _clean(text)
            score = None if text is None else analyser.polarity_scores(text)["compound"]
            found.append((int(r["review_id"]), r["product"], text, words, clean, score))
        return found


def test_review_scoring_example_scores_each_review_and_averages_per_product(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = etl_cli(
        "run",
        "pipelines/review_scoring",
        "--set",
        f"vars.output_dir={out}",
        "--results-dir",
        str(tmp_path),
        env={"ETL_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out / "reviews")
    assert table.column_names == ["review_id", "product", "review", "words", "review_clean", "sentiment"]
    expected = expected_rows()
    assert sorted(tuple(row.values()) for row in table.to_pylist()) == expected
    rows: dict[str, int] = {}
    scores: dict[str, list[float]] = {}
    for _, product, _, _, _, score in expected:
        rows[str(product)] = rows.get(str(product), 0) + 1
        scores.setdefault(str(product), []).extend([] if score is None else [float(str(score))])
    with next((out / "by_product").glob("*.csv")).open() as fh:
        got = {r["product"]: (int(r["reviews"]), float(r["avg_sentiment"])) for r in csv.DictReader(fh)}
    assert got.keys() == rows.keys()
    for product, (count, average) in got.items():
        assert count == rows[product]
        assert average == pytest.approx(sum(scores[product]) / len(scores[product]), abs=1e-12)
