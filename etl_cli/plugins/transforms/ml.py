"""The ``ml_score`` transform: rows scored by a saved model, a Spark ML PipelineModel or an MLflow pyfunc model.

A Spark ML model runs in the JVM (``PipelineModel.load`` + ``transform``). An MLflow ``pyfunc``
model runs in Python workers as a pandas UDF (``mlflow.pyfunc.spark_udf``): MLflow, pandas and
pyarrow are the ``ml`` extra, imported only when such a stage runs.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError, RunError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import first_line, quote, single, string_list, type_problem, user_sql
from etl_cli.plugins.transforms.columns import require_columns

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

FLAVORS = ("spark_ml", "mlflow_pyfunc")
ML_INSTALL = "pip install 'etl-cli[ml]'"
#: the packages an ``mlflow_pyfunc`` stage imports (the ``ml`` extra)
ML_PACKAGES = ("mlflow", "pandas", "pyarrow")
#: a model URI MLflow resolves itself (``runs:/``, ``models:/``, ``s3://``...), not a path of the project
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/")


def missing_ml_packages() -> list[str]:
    """The packages of the ``ml`` extra that cannot be imported here."""
    return [name for name in ML_PACKAGES if importlib.util.find_spec(name) is None]


@register
class MlScoreTransform(Transform):
    type = "ml_score"
    description = (
        "Score the rows with a saved model: a Spark ML PipelineModel (flavor spark_ml) or an MLflow pyfunc "
        "model applied as a pandas UDF (flavor mlflow_pyfunc); the input's columns are kept and the model's "
        "outputs added."
    )
    required_options = ("model",)
    options_schema = {
        "model": {
            "type": "string",
            "minLength": 1,
            "description": "Where the model is: a folder written by PipelineModel.save / mlflow.pyfunc.save_model "
            "(relative to the project), or a URI (s3a://..., and for MLflow runs:/... or models:/...).",
        },
        "flavor": {
            "enum": list(FLAVORS),
            "default": "spark_ml",
            "description": f"spark_ml: a Spark ML PipelineModel; mlflow_pyfunc: an MLflow pyfunc model ({ML_INSTALL}).",
        },
        "keep": string_list(
            "spark_ml: the model's output columns to add (prediction, probability...); the other columns its "
            "stages make (features vectors...) are left out.",
            min_items=1,
        ),
        "columns": string_list(
            "The input columns the model reads, in the order it takes them (mlflow_pyfunc: required, passed "
            "to the model as a pandas DataFrame with these names; spark_ml: optional, for lineage only).",
            min_items=1,
        ),
        "output": {
            "type": "string",
            "minLength": 1,
            "default": "prediction",
            "description": "mlflow_pyfunc: the name of the new column holding the model's output.",
        },
        "result_type": {
            "type": "string",
            "minLength": 1,
            "default": "DOUBLE",
            "description": "mlflow_pyfunc: the Spark SQL type of the model's output (DOUBLE, STRING, INT...).",
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if options.get("flavor", "spark_ml") == "spark_ml":
            return _spark_ml_problems(options)
        return _pyfunc_problems(options)

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """Each output a function of the columns the model reads (``columns``; unknown without them: ``*``)."""
        (name,) = inputs
        read = ", ".join(quote(c) for c in stage.option("columns") or ()) or "*"
        if stage.option("flavor", "spark_ml") == "spark_ml":
            outputs = list(stage.options["keep"])
        else:
            outputs = [stage.option("output", "prediction")]
        made = ", ".join(f"ml_model(struct({read})) AS {quote(c)}" for c in outputs)
        return StageLineage(f"SELECT *, {made} FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        df = single(inputs)
        if columns := stage.option("columns"):
            require_columns(stage, df, "columns", columns)
        if stage.option("flavor", "spark_ml") == "spark_ml":
            return _score_spark_ml(ctx, stage, df)
        return _score_pyfunc(ctx, stage, df)


def _spark_ml_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    problems = []
    if "keep" not in options:
        problems.append(OptionProblem((), "a spark_ml model needs keep", "e.g. keep: [prediction]"))
    problems += [
        OptionProblem((key,), f"{key} is for flavor mlflow_pyfunc only", "remove it, or set flavor: mlflow_pyfunc")
        for key in ("output", "result_type")
        if key in options
    ]
    return problems


def _pyfunc_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    problems = [] if "columns" in options else [OptionProblem((), "an mlflow_pyfunc model needs columns")]
    if "keep" in options:
        problems.append(OptionProblem(("keep",), "keep is for flavor spark_ml only", "name the new column with output"))
    result_type = options.get("result_type")
    if isinstance(result_type, str) and (problem := type_problem(result_type)):
        problems.append(OptionProblem(("result_type",), problem))
    if missing := missing_ml_packages():
        problems.append(
            OptionProblem(
                ("flavor",),
                f"an mlflow_pyfunc model needs {', '.join(missing)}, not installed",
                ML_INSTALL,
            )
        )
    return problems


def model_location(ctx: RunContext, model: str) -> str:
    """A URI as it is; a path relative to the project."""
    return model if _URI.match(model) else ctx.path(model)


def _score_spark_ml(ctx: RunContext, stage: StageSpec, df: DataFrame) -> DataFrame:
    """The input's columns and the kept outputs of ``PipelineModel.transform``."""
    from pyspark.ml import PipelineModel

    location = model_location(ctx, stage.options["model"])
    try:
        model = PipelineModel.load(location)
    except Exception as exc:  # Spark says why in many ways (no folder, not a PipelineModel, bad metadata)
        raise ConfigError(
            f"{stage.label}: cannot load a Spark ML PipelineModel from {location}: {str(exc).splitlines()[0]}",
            location=stage.location,
            hint="model must be the folder written by PipelineModel.save (pipeline.fit(...).save(path))",
        ) from exc
    keep = list(stage.options["keep"])
    with user_sql(stage, "model input"):
        scored = model.transform(df)
    require_columns(stage, scored, "keep", keep)
    clashes = [name for name in keep if name in df.columns]
    if clashes:
        raise ConfigError(
            f"{stage.label}: keep names {', '.join(clashes)}, already a column of the input",
            location=stage.location,
            hint="drop or rename that input column first, or set the model's output column names",
        )
    return scored.select(*[quote(c) for c in df.columns], *[quote(c) for c in keep])


def _score_pyfunc(ctx: RunContext, stage: StageSpec, df: DataFrame) -> DataFrame:
    """The input's columns and the pyfunc model's output, computed by ``mlflow.pyfunc.spark_udf``."""
    if missing := missing_ml_packages():
        raise ConfigError(
            f"{stage.label}: an mlflow_pyfunc model needs {', '.join(missing)}, not installed",
            location=stage.location,
            hint=ML_INSTALL,
        )
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    location = model_location(ctx, stage.options["model"])
    output = stage.option("output", "prediction")
    if output in df.columns:
        raise ConfigError(
            f"{stage.label}: output '{output}' is already a column of the input",
            location=stage.location,
            hint="name the model's column with output",
        )
    try:
        predict = mlflow.pyfunc.spark_udf(
            ctx.spark, location, result_type=stage.option("result_type", "DOUBLE"), env_manager="local"
        )
    except Exception as exc:  # MLflow raises its own and OS errors for a missing or unreadable model
        raise ConfigError(
            f"{stage.label}: cannot load an MLflow pyfunc model from {location}: {str(exc).splitlines()[0]}",
            location=stage.location,
            hint="model must be a folder written by mlflow.pyfunc.save_model, or a runs:/ or models:/ URI",
        ) from exc
    columns = list(stage.options["columns"])
    with user_sql(stage, "model input"):
        return df.withColumn(output, predict(F.struct(*[F.col(quote(c)).alias(c) for c in columns])))


#: the prefix of the helper columns ``features`` makes on the way (dropped from its output)
_HELPER = "__etl_cli_features_"
_SPLIT = {"anyOf": [{"type": "number"}, {"enum": ["-inf", "inf"]}]}


@register
class FeaturesTransform(Transform):
    type = "features"
    description = (
        "Add feature columns made by Spark ML, fitted on this stage's input at each run: one-hot vectors "
        "(one_hot), bucket numbers (bucketize) and scaled vectors (scale)."
    )
    options_schema = {
        "one_hot": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"type": "string", "minLength": 1},
            "description": "input column: new VECTOR column, one slot per distinct value of the column in "
            "alphabetical order, then one for null (StringIndexer + OneHotEncoder).",
        },
        "bucketize": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["splits", "output"],
                "additionalProperties": False,
                "properties": {
                    "splits": {
                        "type": "array",
                        "items": _SPLIT,
                        "minItems": 3,
                        "description": "Increasing bucket bounds: bucket i holds values from splits[i] (included) "
                        "to splits[i+1] (excluded; the last bucket includes its end); -inf and inf allowed.",
                    },
                    "output": {"type": "string", "minLength": 1, "description": "New DOUBLE column: the bucket."},
                },
            },
            "description": "numeric input column: {splits, output} (Spark ML's Bucketizer); a null value has a null "
            "bucket, a value outside the splits stops the run.",
        },
        "scale": {
            "type": "object",
            "required": ["columns", "output"],
            "additionalProperties": False,
            "description": "Numeric columns assembled into one vector, then scaled (VectorAssembler + scaler).",
            "properties": {
                "columns": string_list("The numeric columns to scale, in the vector's order.", min_items=1),
                "output": {"type": "string", "minLength": 1, "description": "New VECTOR column: the scaled values."},
                "method": {
                    "enum": ["standard", "min_max"],
                    "default": "standard",
                    "description": "standard: (x - mean) / sample standard deviation (StandardScaler); "
                    "min_max: (x - min) / (max - min), into [0, 1] (MinMaxScaler).",
                },
            },
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        if not any(key in options for key in ("one_hot", "bucketize", "scale")):
            return [OptionProblem((), "features needs one of one_hot, bucketize, scale", "e.g. one_hot: {country: c}")]
        problems = _split_problems(options.get("bucketize"))
        seen: set[str] = set()
        for path, name in feature_outputs(options):
            if name.lower() in seen:
                problems.append(OptionProblem(path, f"'{name}' is the name of another new column of this stage"))
            seen.add(name.lower())
        return problems

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [
            OptionProblem(
                (),
                "features fits its encoders and scalers on the whole input, which a stream never has",
                "compute the features in a batch pipeline, or score with a saved model (ml_score)",
            )
        ]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """Each new column a function of the columns it is made from."""
        (name,) = inputs
        made = [f"ml_one_hot({quote(c)}) AS {quote(out)}" for c, out in (stage.option("one_hot") or {}).items()]
        made += [
            f"ml_bucketize({quote(c)}) AS {quote(b['output'])}" for c, b in (stage.option("bucketize") or {}).items()
        ]
        if scale := stage.option("scale"):
            read = ", ".join(quote(c) for c in scale["columns"])
            made.append(f"ml_scale(struct({read})) AS {quote(scale['output'])}")
        return StageLineage(f"SELECT *, {', '.join(made)} FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.ml import Pipeline

        df = single(inputs)
        scale = stage.option("scale") or {}
        require_columns(stage, df, "one_hot", stage.option("one_hot") or {})
        require_columns(stage, df, "bucketize", stage.option("bucketize") or {})
        require_columns(stage, df, "scale", scale.get("columns", ()))
        outputs = [name for _, name in feature_outputs(stage.options)]
        if clashes := [name for name in outputs if name in df.columns]:
            raise ConfigError(
                f"{stage.label}: {', '.join(clashes)} already a column of the input",
                location=stage.location,
                hint="name the new column otherwise",
            )
        with user_sql(stage, "features"):
            try:
                model = Pipeline(stages=_feature_stages(stage.options)).fit(df)
            except Exception as exc:  # Py4JJavaError: the rows could not be fitted (a null to scale...)
                raise RunError(
                    f"{stage.label}: fitting the features failed: {_cause(exc)}",
                    location=stage.location,
                    hint="a null in a scale column cannot be scaled: fill or filter the nulls in a stage before",
                ) from exc
            fitted = model.transform(df)
        return fitted.select(*[quote(c) for c in df.columns], *[quote(c) for c in outputs])


def feature_outputs(options: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """The new columns of a ``features`` stage, in output order, each with the option path naming it."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    one_hot, bucketize = options.get("one_hot"), options.get("bucketize")
    for column, output in one_hot.items() if isinstance(one_hot, Mapping) else ():
        found.append((("one_hot", column), str(output)))
    for column, spec in bucketize.items() if isinstance(bucketize, Mapping) else ():
        if isinstance(spec, Mapping) and "output" in spec:
            found.append((("bucketize", column, "output"), str(spec["output"])))
    scale = options.get("scale")
    if isinstance(scale, Mapping) and "output" in scale:
        found.append((("scale", "output"), str(scale["output"])))
    return found


def _cause(error: BaseException) -> str:
    """The innermost cause Spark gives (its ``Caused by:`` lines), else the error's first line."""
    causes = [line for line in str(error).splitlines() if line.startswith("Caused by:")]
    if causes:  # "Caused by: org.apache.spark.SparkException: what went wrong"
        return causes[-1].split(": ", 2)[-1]
    return first_line(error)


def _bound(value: Any) -> float:
    return float(value)  # float("-inf") and float("inf") read the two words the schema allows


def _split_problems(bucketize: Any) -> list[OptionProblem]:
    """Splits that do not increase (Bucketizer refuses them only when the run fits it)."""
    if not isinstance(bucketize, Mapping):
        return []
    problems = []
    for column, spec in bucketize.items():
        splits = spec.get("splits") if isinstance(spec, Mapping) else None
        if not isinstance(splits, list) or not all(isinstance(s, int | float | str) for s in splits):
            continue
        bounds = [_bound(s) for s in splits]
        if any(a >= b for a, b in itertools.pairwise(bounds)):
            problems.append(OptionProblem(("bucketize", column, "splits"), "splits must increase strictly"))
    return problems


def _feature_stages(options: Mapping[str, Any]) -> list[Any]:
    """The Spark ML stages making the features; helper columns are prefixed with ``_HELPER``."""
    from pyspark.ml.feature import (
        Bucketizer,
        MinMaxScaler,
        OneHotEncoder,
        StandardScaler,
        StringIndexer,
        VectorAssembler,
    )

    stages: list[Any] = []
    for column, output in (options.get("one_hot") or {}).items():
        index = f"{_HELPER}{output}"
        stages.append(
            StringIndexer(inputCol=column, outputCol=index, handleInvalid="keep", stringOrderType="alphabetAsc")
        )
        stages.append(OneHotEncoder(inputCol=index, outputCol=output, dropLast=False))
    for column, spec in (options.get("bucketize") or {}).items():
        splits = [_bound(s) for s in spec["splits"]]
        stages.append(Bucketizer(splits=splits, inputCol=column, outputCol=spec["output"], handleInvalid="keep"))
    if scale := options.get("scale"):
        vector = f"{_HELPER}{scale['output']}"
        stages.append(VectorAssembler(inputCols=list(scale["columns"]), outputCol=vector))
        if scale.get("method", "standard") == "standard":
            stages.append(StandardScaler(inputCol=vector, outputCol=scale["output"], withMean=True, withStd=True))
        else:
            stages.append(MinMaxScaler(inputCol=vector, outputCol=scale["output"]))
    return stages
