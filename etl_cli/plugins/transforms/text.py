"""The ``text`` transform: tokens, a normalised form and a lexicon-based sentiment score of a text column.

Tokens and the normalised form are Spark SQL (no Python in the executors); the accent stripping
and the sentiment score run as Python UDFs. The sentiment lexicon is VADER's (vaderSentiment,
MIT licence, which ships its lexicon file): it is an optional extra, imported only in the executors.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, user_sql
from etl_cli.plugins.transforms.columns import require_columns

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

#: the outputs the transform can make, in the order they are added to the rows
OUTPUTS = ("tokenize", "normalize", "sentiment")
#: what to install for ``sentiment`` (the package that ships the lexicon)
SENTIMENT_INSTALL = "pip install 'etl-cli[text]'"
#: tokens: lower-cased runs of letters (any script: ``\p{L}``); digits and punctuation separate them
TOKEN_SPLIT = r"[^\p{L}]+"

#: what ``normalize`` makes one space: each run of ASCII whitespace (space, tab, line breaks, form feed)
WHITESPACE = r"\s+"


def sql_string(text: str) -> str:
    """``text`` as a Spark SQL string literal (backslashes and quotes escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _output_name(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": description}


@register
class TextTransform(Transform):
    type = "text"
    description = (
        "Add columns computed from one text column: its tokens (tokenize), a normalised form (normalize) "
        "and a lexicon-based sentiment score (sentiment); each option names the new column."
    )
    required_options = ("column",)
    options_schema = {
        "column": {"type": "string", "minLength": 1, "description": "The text column to read (STRING)."},
        "tokenize": _output_name(
            "New ARRAY<STRING> column: the text lower-cased and split on every character that is not a letter "
            "(digits and punctuation too), empty tokens left out."
        ),
        "normalize": _output_name(
            "New STRING column: the text lower-cased, accents stripped (Unicode NFD decomposition, then every "
            "non-spacing mark removed: é → e), each run of whitespace made one space, then trimmed."
        ),
        "sentiment": _output_name(
            "New DOUBLE column: VADER's compound sentiment score, from -1 (most negative) to 1 (most positive). "
            f"Needs the text extra: {SENTIMENT_INSTALL}."
        ),
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        outputs = [key for key in OUTPUTS if key in options]
        if not outputs:
            return [OptionProblem((), "text needs one of tokenize, normalize, sentiment", "e.g. tokenize: words")]
        problems = []
        seen: dict[str, str] = {}
        for key in outputs:
            name = str(options[key]).lower()
            if name in seen:
                problems.append(OptionProblem((key,), f"'{options[key]}' is also the column of {seen[name]}"))
            seen[name] = key
        if "sentiment" in options and importlib.util.find_spec("vaderSentiment") is None:
            problems.append(
                OptionProblem(
                    ("sentiment",),
                    "the sentiment score needs the vaderSentiment package, which is not installed",
                    SENTIMENT_INSTALL,
                )
            )
        return problems

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """Each new column as a SQL expression over the text column (sentiment: a function of it)."""
        (name,) = inputs
        column = quote(stage.options["column"])
        made = {
            "tokenize": f"filter(split(lower({column}), {sql_string(TOKEN_SPLIT)}), t -> t <> '')",
            "normalize": f"trim(regexp_replace(lower({column}), {sql_string(WHITESPACE)}, ' '))",
            "sentiment": f"CAST(sentiment({column}) AS DOUBLE)",
        }
        outputs = ", ".join(f"{made[key]} AS {quote(stage.options[key])}" for key in OUTPUTS if key in stage.options)
        return StageLineage(f"SELECT *, {outputs} FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        column = stage.options["column"]
        require_columns(stage, df, "column", [column])
        text = F.col(quote(column))
        makers = {"tokenize": tokens, "normalize": normalized, "sentiment": sentiment_score}
        if "sentiment" in stage.options and importlib.util.find_spec("vaderSentiment") is None:
            raise ConfigError(
                f"{stage.label}: the sentiment score needs the vaderSentiment package, which is not installed",
                location=stage.location,
                hint=SENTIMENT_INSTALL,
            )
        with user_sql(stage, "text column"):
            return df.withColumns({stage.options[key]: makers[key](text) for key in OUTPUTS if key in stage.options})


def tokens(text: Column) -> Column:
    """Lower-cased runs of letters; a null text has null tokens."""
    from pyspark.sql import functions as F

    return F.filter(F.split(F.lower(text), TOKEN_SPLIT), lambda token: token != F.lit(""))


def strip_accents(value: str | None) -> str | None:
    """``value`` without its accents: decomposed (NFD), then without its non-spacing marks (category Mn)."""
    if value is None:
        return None
    return "".join(c for c in unicodedata.normalize("NFD", value) if unicodedata.category(c) != "Mn")


def normalized(text: Column) -> Column:
    """Lower-cased, accents stripped, whitespace runs made one space, then trimmed.

    Spark's ``trim`` removes spaces only, so tabs and line breaks are made spaces first.
    """
    from pyspark.sql import functions as F

    stripped = F.udf(strip_accents, "string")(F.lower(text))
    return F.trim(F.regexp_replace(stripped, WHITESPACE, " "))


def vader_compound(value: str | None) -> float | None:
    """VADER's compound score of ``value`` (the analyser, and its lexicon, loaded once per Python worker)."""
    if value is None:
        return None
    return float(_analyser().polarity_scores(value)["compound"])


_ANALYSERS: list[Any] = []


def _analyser() -> Any:
    """VADER's analyser: reading its lexicon takes a while, so each worker does it once."""
    if not _ANALYSERS:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _ANALYSERS.append(SentimentIntensityAnalyzer())
    return _ANALYSERS[0]


def sentiment_score(text: Column) -> Column:
    """VADER's compound score as a DOUBLE column (null text: null)."""
    from pyspark.sql import functions as F

    return F.udf(vader_compound, "double")(text)
