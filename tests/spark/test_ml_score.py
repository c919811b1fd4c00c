"""``ml_score`` with a tiny Spark ML model trained here (compared with the model's own ``transform``) and a
tiny MLflow pyfunc model logged here to a local file store (compared with values worked out by hand)."""

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

#: 20 rows: label 1 when x + y is large (made up by hand, two of them against the rule so the fit is not perfect)
ROWS = [(i, float(i % 5), float(i // 5), 1.0 if (i % 5) + (i // 5) >= 4 else 0.0) for i in range(20)]
ROWS[3] = (3, 3.0, 0.0, 1.0)
ROWS[17] = (17, 2.0, 3.0, 0.0)


def run(spark: SparkSession, df: DataFrame, root: Path, **options: Any) -> DataFrame:
    plugin = REGISTRY.get("transform", "ml_score")()
    assert isinstance(plugin, Transform)
    stage = StageSpec(name="t", kind="transform", type="ml_score", inputs=("src",), options=frozen(options))
    return plugin.apply(RunContext(spark=spark, project_root=root, run_id="test"), stage, {"src": df})


@pytest.fixture
def points(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(ROWS, "id INT, x DOUBLE, y DOUBLE, label DOUBLE")


def test_spark_ml_model_scores_like_its_own_transform_keeping_only_the_chosen_outputs(
    spark: SparkSession, points: DataFrame, tmp_path: Path
) -> None:
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    stages: list[Any] = [VectorAssembler(inputCols=["x", "y"], outputCol="features"), LogisticRegression(maxIter=20)]
    Pipeline(stages=stages).fit(points).save(str(tmp_path / "models" / "lr"))
    # the model as saved: the fitted one keeps its training summary, which holds the session, and a session that
    # has observed metrics (etl-cli's row counts, earlier in this process) cannot be serialised into a task
    saved = PipelineModel.load(str(tmp_path / "models" / "lr"))
    expected = {r["id"]: (r["prediction"], r["probability"]) for r in saved.transform(points).collect()}

    result = run(spark, points, tmp_path, model="models/lr", keep=["prediction", "probability"])
    assert result.columns == ["id", "x", "y", "label", "prediction", "probability"]
    assert {r["id"]: (r["prediction"], r["probability"]) for r in result.collect()} == expected
    with pytest.raises(ConfigError, match="keep names x, already a column of the input"):
        run(spark, points, tmp_path, model="models/lr", keep=["prediction", "x"])
    with pytest.raises(ConfigError, match="keep names no column 'score'"):
        run(spark, points, tmp_path, model="models/lr", keep=["score"])


def test_a_folder_that_is_no_spark_ml_model_is_a_config_error(
    spark: SparkSession, points: DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"cannot load a Spark ML PipelineModel from .*nothing"):
        run(spark, points, tmp_path, model="nothing", keep=["prediction"])


@pytest.mark.filterwarnings("ignore:Add type hints")  # MLflow's advice on signatures, beside the point here
def test_mlflow_pyfunc_model_logged_to_a_file_store_scores_each_row(
    spark: SparkSession, points: DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    import mlflow.pyfunc

    class Weighted(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]  # MLflow's lazy exports
        """2x + y, row by row."""

        def predict(self, context, model_input, params=None):  # no hints: MLflow would read them as a signature
            return model_input["x"] * 2 + model_input["y"]

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 prefers a database; a folder is enough here
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="weighted", python_model=Weighted())

    result = run(spark, points, tmp_path, model=info.model_uri, flavor="mlflow_pyfunc", columns=["x", "y"], output="w")
    assert result.columns == ["id", "x", "y", "label", "w"]
    assert {r["id"]: r["w"] for r in result.collect()} == {i: 2 * x + y for i, x, y, _ in ROWS}
