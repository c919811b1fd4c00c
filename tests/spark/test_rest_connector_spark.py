"""The REST source and sink on Spark, against the test's own HTTP API (tests/resthelp.py).

In-process reads and writes on the shared session check the DataFrames; one module-scoped project runs
``etl-cli run`` twice (OAuth2 from an env secret, parallel pages, an incremental cursor, a REST sink with a
dead-letter queue, a Parquet copy) and the tests assert on what the server received and the files written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.rest.client import HttpError, urllib_transport
from etl_cli.plugins.sinks.rest import RestSink
from etl_cli.plugins.sources.rest import RestSource
from tests.clihelp import etl_cli
from tests.resthelp import ITEMS, ApiState, RunningApi, serve


class MemoryState:
    full_refresh = False

    def __init__(self) -> None:
        self.kept: dict[str, Any] = {}

    def get(self, stage: str) -> Any:
        return self.kept.get(stage)

    def save_on_success(self, stage: str, value: Any) -> None:
        self.kept[stage] = dict(value)


def ctx(spark: SparkSession, tmp_path: Path, state: MemoryState | None = None) -> RunContext:
    return RunContext(spark=spark, project_root=tmp_path, run_id="t", state=state)


def test_records_become_a_dataframe_with_the_declared_or_inferred_schema(spark: SparkSession, tmp_path: Path):
    with serve() as api:
        options = {
            "url": f"{api.url}/next",
            "records_path": "records",
            "paginate": {"type": "next_url", "next_url_path": "links.next"},
        }
        declared = RestSource().read(
            ctx(spark, tmp_path),
            StageSpec(
                "s", "source", "rest", (), {**options, "schema": {"id": "INT", "tags": "STRUCT<colour: STRING>"}}
            ),
        )
        inferred = RestSource().read(ctx(spark, tmp_path), StageSpec("s", "source", "rest", (), options))
        assert declared.dtypes == [("id", "int"), ("tags", "struct<colour:string>")]
        assert [(r.id, r.tags.colour) for r in declared.collect()] == [(i["id"], i["tags"]["colour"]) for i in ITEMS]
        assert dict(inferred.dtypes) == {
            "id": "bigint",
            "name": "string",
            "qty": "bigint",
            "price": "double",
            "updated_at": "string",
            "tags": "struct<colour:string>",
        }
        assert sorted((r.id, r.price) for r in inferred.collect()) == [(i["id"], i["price"]) for i in ITEMS]


def test_an_incremental_read_keeps_the_newest_cursor_value_in_the_state(spark: SparkSession, tmp_path: Path):
    state = MemoryState()
    with serve() as api:
        options = {
            "url": f"{api.url}/offset",
            "records_path": "results",
            "paginate": {"type": "offset", "limit": 10, "total_path": "count"},
            "parallelism": 3,
            "incremental": {"cursor_path": "updated_at", "param": "since"},
            "schema": "id INT, updated_at STRING",
        }
        stage = StageSpec("items", "source", "rest", (), options)
        first = RestSource().read(ctx(spark, tmp_path, state), stage)
        assert first.count() == len(ITEMS)
        assert state.kept["items"] == {"cursor_path": "updated_at", "value": "2024-03-23T10:00:00Z"}
        api.state.items.append({**ITEMS[0], "id": 99, "updated_at": "2024-04-01T00:00:00Z"})
        second = RestSource().read(ctx(spark, tmp_path, state), stage)
        assert [r.id for r in second.collect()] == [99]
        empty = RestSource().read(ctx(spark, tmp_path, state), stage)
        assert empty.count() == 0 and empty.columns == ["id", "updated_at"]


def test_the_sink_returns_the_refused_rows_for_the_dead_letter_queue(spark: SparkSession, tmp_path: Path):
    df = spark.createDataFrame([(1, 5, None), (2, -1, "x"), (3, 7, "y")], "id INT, qty INT, note STRING")
    with serve() as api:
        options = {"url": f"{api.url}/ingest", "batch_size": 2, "on_reject": "dead_letter"}
        write = RestSink().stage_write(ctx(spark, tmp_path), StageSpec("out", "sink", "rest", ("in",), options), df)
        ingested = api.state.ingested
    assert ingested == [{"id": 1, "qty": 5, "note": None}, {"id": 3, "qty": 7, "note": "y"}]
    assert (write.rows, write.rows_rejected) == (2, 1)
    assert write.rejected is not None
    [refused] = write.rejected.collect()
    assert json.loads(refused.row) == {"id": 2, "qty": -1, "note": "x"}
    assert "422" in refused.reason and "qty must not be negative" in refused.reason


def test_without_a_dead_letter_queue_the_sink_sends_at_commit_and_a_retried_commit_resumes(
    spark: SparkSession, tmp_path: Path
):
    df = spark.createDataFrame([(n, n) for n in range(1, 8)], "id INT, qty INT").repartition(3)
    options = {"url": "", "batch_size": 2, "retry": {"attempts": 1}}
    with serve() as api:
        stage = StageSpec("out", "sink", "rest", ("in",), {**options, "url": f"{api.url}/ingest"})
        aborted = RestSink().stage_write(ctx(spark, tmp_path), stage, df)
        aborted.abort()
        write = RestSink().stage_write(ctx(spark, tmp_path), stage, df)
        assert api.state.requests == [] and write.irreversible  # staging sends nothing: commit, after the others
        original = urllib_transport
        sent = 0

        def failing_third_request(request: Any, timeout: float) -> Any:
            nonlocal sent
            sent += 1
            if sent == 3:
                raise ConnectionResetError("reset by the test")
            return original(request, timeout)

        write._sender.client.transport = failing_third_request  # type: ignore[attr-defined]
        with pytest.raises(HttpError, match="reset by the test"):
            write.commit()
        write.commit()  # as the run's retry of the commit: resumes with the third batch
        ingested = [r["id"] for r in api.state.ingested]
    assert sorted(ingested) == list(range(1, 8)) and len(ingested) == 7  # each record once
    assert write.rows == 7 and write.details["requests_ok"] == 4


# ---------------------------------------------------------------------------- etl-cli run, end to end

PIPELINE = """\
name: orders_api
spark:
  master: local[2]
  conf: {{spark.sql.shuffle.partitions: 2}}
sources:
  - name: items
    type: rest
    url: {url}/pages
    records_path: data.items
    paginate: {{type: page_number, page_size: 5, total_path: meta.total_pages}}
    parallelism: 3
    rate_limit: {{requests_per_second: 50, burst: 5}}
    auth:
      type: oauth2_client_credentials
      token_url: {url}/token
      client_id: etl
      client_secret: ${{secret:env:API_CLIENT_SECRET}}
    incremental: {{cursor_path: updated_at, param: since}}
    schema: {{id: INT, name: STRING, qty: INT, updated_at: STRING}}
sinks:
  - name: copy
    type: parquet
    input: items
    path: out/items
  - name: pushed
    type: rest
    input: items
    url: {url}/ingest
    batch_size: 4
    body_template: {{records: $records}}
    on_reject: dead_letter
    auth:
      type: oauth2_client_credentials
      token_url: {url}/token
      client_id: etl
      client_secret: ${{secret:env:API_CLIENT_SECRET}}
      client_auth: basic
dead_letter: {{type: parquet, path: dead_letters}}
retry: {{attempts: 4, initial_delay: 0.05, jitter: 0}}
"""


@dataclass
class Project:
    root: Path
    api: RunningApi
    runs: list[Any]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("rest_project")
    state = ApiState(auth=("oauth2", "etl", "s3cret-client"))
    state.items[4]["qty"] = -2  # id 5: the ingest endpoint refuses it
    state.fail_next["/ingest"] = 3  # four attempts (the pipeline's retry:) get through, three would not
    with serve(state) as api:
        (root / "etl-project.yaml").write_text("name: rest\n", encoding="utf-8")
        (root / "pipeline.yaml").write_text(PIPELINE.format(url=api.url), encoding="utf-8")
        env = {"ETL_STATE_DIR": str(root / "state"), "API_CLIENT_SECRET": "s3cret-client"}
        runs = [etl_cli("run", str(root / "pipeline.yaml"), env=env, cwd=root)]
        first = {"ingested": list(state.ingested), "requests": list(state.requests)}
        state.items.append({"id": 24, "name": "item-24", "qty": 1, "updated_at": "2024-03-24T10:00:00Z"})
        runs.append(etl_cli("run", str(root / "pipeline.yaml"), env=env, cwd=root))
        yield Project(root, api, [*runs, first])


def test_the_first_run_reads_every_page_and_sends_the_accepted_records(project: Project):
    first_run, _, first = project.runs
    assert first_run.returncode == 0, first_run.stdout + first_run.stderr
    assert [r["id"] for r in first["ingested"]] == [i["id"] for i in ITEMS if i["id"] != 5]
    pages = sorted(int(r.query["page"]) for r in first["requests"] if r.path == "/pages")
    assert pages == [1, 2, 3, 4, 5]
    assert all(r.query.get("since") is None for r in first["requests"] if r.path == "/pages")
    tokens = [r for r in first["requests"] if r.path == "/token"]
    assert len(tokens) == 2  # one per stage: the source sends its credentials in the body, the sink as HTTP Basic
    assert tokens[0].body["client_secret"] == "s3cret-client" and "authorization" in tokens[1].headers
    assert "s3cret-client" not in first_run.stdout + first_run.stderr


def test_the_sink_s_requests_are_retried_with_the_pipeline_s_retry_block(project: Project):
    ingests = [r for r in project.runs[2]["requests"] if r.path == "/ingest"]
    assert [r.status for r in ingests[:4]] == [503, 503, 503, 201]


def test_the_refused_record_is_a_dead_letter(project: Project):
    letters = pq.read_table(project.root / "dead_letters").to_pylist()
    assert len(letters) == 1
    assert json.loads(letters[0]["row"])["id"] == 5
    assert "422" in letters[0]["reason"]
    assert letters[0]["stage"] == "pushed"


def test_the_second_run_reads_only_records_newer_than_the_kept_cursor(project: Project):
    second_run = project.runs[1]
    assert second_run.returncode == 0, second_run.stdout + second_run.stderr
    second_requests = project.api.state.requests[len(project.runs[2]["requests"]) :]
    sinces = {r.query.get("since") for r in second_requests if r.path == "/pages"}
    assert sinces == {"2024-03-23T10:00:00Z"}
    assert [r["id"] for r in project.api.state.ingested][-1:] == [24]
    copied = pq.read_table(project.root / "out" / "items").to_pylist()
    assert copied == [{"id": 24, "name": "item-24", "qty": 1, "updated_at": "2024-03-24T10:00:00Z"}]
