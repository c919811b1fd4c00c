"""The ``text`` transform on a few hand-written reviews; tokens and normal forms worked out by hand, sentiment
scores computed here by calling vaderSentiment directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

import etl_cli.plugins.builtin  # noqa: F401 - registers the built-in plug-ins
from etl_cli.errors import ConfigError
from etl_cli.plugins.api import RunContext, StageSpec, Transform
from etl_cli.plugins.registry import REGISTRY
from tests.support import frozen

REVIEWS = [
    (1, "  Great CAFÉ,\tloved it!! 10/10  "),
    (2, "Terrible service... never again"),
    (3, None),
    (4, "Crème brûlée: naïve\n but OK"),
]


def run(spark: SparkSession, df: DataFrame, **options: Any) -> DataFrame:
    plugin = REGISTRY.get("transform", "text")()
    assert isinstance(plugin, Transform)
    stage = StageSpec(name="t", kind="transform", type="text", inputs=("src",), options=frozen(options))
    return plugin.apply(RunContext(spark=spark, project_root=Path("."), run_id="test"), stage, {"src": df})


@pytest.fixture
def reviews(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(REVIEWS, "id INT, review STRING")


def test_text_tokenizes_normalizes_and_scores_each_review(spark: SparkSession, reviews: DataFrame) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    result = run(spark, reviews, column="review", tokenize="words", normalize="clean", sentiment="score")
    assert result.columns == ["id", "review", "words", "clean", "score"]
    got = {row["id"]: (row["words"], row["clean"], row["score"]) for row in result.collect()}
    analyser = SentimentIntensityAnalyzer()
    expected = {
        1: (["great", "café", "loved", "it"], "great cafe, loved it!! 10/10"),
        2: (["terrible", "service", "never", "again"], "terrible service... never again"),
        3: (None, None),
        4: (["crème", "brûlée", "naïve", "but", "ok"], "creme brulee: naive but ok"),
    }
    for key, (words, clean) in expected.items():
        text = dict(REVIEWS)[key]
        score = None if text is None else analyser.polarity_scores(text)["compound"]
        assert got[key] == (words, clean, score)
    assert got[1][2] > 0.5 and got[2][2] < -0.3  # the package's scores, as a sanity check of the direction


def test_text_names_a_missing_column(spark: SparkSession, reviews: DataFrame) -> None:
    with pytest.raises(ConfigError, match="column names no column 'reveiw'"):
        run(spark, reviews, column="reveiw", tokenize="words")
