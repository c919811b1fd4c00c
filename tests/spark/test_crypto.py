"""``encrypt`` and ``decrypt`` on Spark with a local key: values opened by a second method, rotation,
re-encryption, tampering, and the data keys absent from plans, the SQL tab, logs, results and process lists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow.parquet as pq
import pytest

from etl_cli.config.project import load_project
from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.transforms.crypto import DecryptTransform, EncryptTransform
from etl_cli.secrets.keys.manager import KeyManager, key_manager
from tests.clihelp import etl_cli
from tests.spark.keyshelp import key_forms, local_data_keys, open_value
from tests.unit.helpers import write

PLAIN = [(1, "alice@example.com"), (2, None), (3, "bob@example.org"), (4, "é 😀 ünïcode"), (5, "")]
PROJECT = """
name: crypt
keys:
  dev:
    provider: local
    path: .etl/keys/dev.key
"""


def stage(kind: str, **options: Any) -> StageSpec:
    return StageSpec(f"{kind}_it", "transform", kind, ("people",), options)


def project_keys(root: Path) -> KeyManager:
    write(root, "etl-project.yaml", PROJECT)
    manager = key_manager(load_project(root), None, environ={})
    manager.create("dev")
    return manager


def files_keys(root: Path) -> dict[int, bytes]:
    return local_data_keys(root / ".etl/keys/dev.key", root / "keys/dev.keyring.json", "dev")


def apply(spark: Any, root: Path, manager: KeyManager, spec: StageSpec, df: Any) -> Any:
    ctx = RunContext(spark=spark, project_root=root, run_id="t", keys=manager)
    plugin = EncryptTransform() if spec.type == "encrypt" else DecryptTransform()
    return plugin.apply(ctx, spec, {"people": df})


def people(spark: Any) -> Any:
    return spark.createDataFrame(PLAIN, "id INT, email STRING")


def test_encrypted_values_open_with_the_wrapped_data_key(spark: Any, tmp_path: Path) -> None:
    manager = project_keys(tmp_path)
    out = apply(spark, tmp_path, manager, stage("encrypt", columns=["email"], key="dev"), people(spark))
    rows = sorted(out.collect())
    keys = files_keys(tmp_path)
    assert out.columns == ["id", "email"]
    assert {r.id: r.email for r in rows if r.email is None} == {2: None}
    for (ident, plain), row in zip([p for p in PLAIN], rows, strict=True):
        assert row.id == ident
        if plain is not None:
            assert row.email.startswith("etl:v1:1:")
            assert open_value(row.email, keys) == plain
    # AES-GCM with a random IV: the same value twice gives two ciphertexts
    twice = apply(spark, tmp_path, manager, stage("encrypt", columns=["email"], key="dev"), people(spark)).collect()
    assert {r.email for r in twice if r.id == 1} != {r.email for r in rows if r.id == 1}


def test_decrypt_gives_back_the_plaintext(spark: Any, tmp_path: Path) -> None:
    manager = project_keys(tmp_path)
    hidden = apply(spark, tmp_path, manager, stage("encrypt", columns=["email"], key="dev"), people(spark))
    opened = apply(spark, tmp_path, manager, stage("decrypt", columns=["email"], key="dev"), hidden.localCheckpoint())
    assert sorted(tuple(r) for r in opened.collect()) == sorted(PLAIN, key=lambda r: r[0])


def test_old_data_stays_readable_after_rotation_and_reencrypt_moves_it(spark: Any, tmp_path: Path) -> None:
    manager = project_keys(tmp_path)
    before = apply(spark, tmp_path, manager, stage("encrypt", columns=["email"], key="dev"), people(spark))
    before_rows = before.collect()
    summary = manager.rotate("dev")
    assert summary["key_version"] == 2 and summary["kek_version"] == "v2" and summary["rewrapped"] == [1]
    ring = json.loads((tmp_path / "keys/dev.keyring.json").read_text())
    assert [v["kek_version"] for v in ring["versions"]] == ["v2", "v2"]  # v1 re-wrapped by the new KEK

    rotated = key_manager(load_project(tmp_path), None, environ={})  # a later run
    old = spark.createDataFrame([tuple(r) for r in before_rows], "id INT, email STRING")
    new = apply(spark, tmp_path, rotated, stage("encrypt", columns=["email"], key="dev"), people(spark))
    new_rows = new.collect()
    assert all(r.email.startswith("etl:v1:2:") for r in new_rows if r.email is not None)
    both = old.union(spark.createDataFrame([tuple(r) for r in new_rows], "id INT, email STRING"))
    opened = apply(spark, tmp_path, rotated, stage("decrypt", columns=["email"], key="dev"), both).collect()
    assert sorted(tuple(r) for r in opened) == sorted(PLAIN + PLAIN, key=lambda r: (r[0], str(r[1])))

    moved = apply(spark, tmp_path, rotated, stage("encrypt", columns=["email"], key="dev", reencrypt=True), old)
    moved_rows = moved.collect()
    keys = files_keys(tmp_path)
    assert all(r.email.startswith("etl:v1:2:") for r in moved_rows if r.email is not None)
    assert sorted((r.id, open_value(r.email, keys) if r.email else r.email) for r in moved_rows) == sorted(
        PLAIN, key=lambda r: r[0]
    )


def test_tampered_and_foreign_values_fail_or_become_null(spark: Any, tmp_path: Path) -> None:
    manager = project_keys(tmp_path)
    hidden = apply(spark, tmp_path, manager, stage("encrypt", columns=["email"], key="dev"), people(spark)).collect()
    good = next(r.email for r in hidden if r.id == 1)
    flipped = good[:-6] + ("A" if good[-6] != "A" else "B") + good[-5:]
    bad = spark.createDataFrame(
        [(1, flipped), (2, "not encrypted"), (3, "etl:v1:9:AAAA"), (4, good)], "id INT, email STRING"
    )
    nulls = apply(spark, tmp_path, manager, stage("decrypt", columns=["email"], key="dev", on_error="null"), bad)
    assert sorted(tuple(r) for r in nulls.collect()) == [(1, None), (2, None), (3, None), (4, "alice@example.com")]
    for row in ((2, "not encrypted"), (3, "etl:v1:9:AAAA"), (1, flipped)):
        one = spark.createDataFrame([row], "id INT, email STRING")
        with pytest.raises(Exception) as failed:
            apply(spark, tmp_path, manager, stage("decrypt", columns=["email"], key="dev"), one).collect()
        for form in key_forms(files_keys(tmp_path)).values():
            assert form not in str(failed.value)


def test_keys_appear_in_no_plan_nor_the_sql_tab(spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manager = project_keys(tmp_path)
    manager.rotate("dev")
    manager = key_manager(load_project(tmp_path), None, environ={})
    hidden = apply(spark, tmp_path, manager, stage("encrypt", columns=["email"], key="dev"), people(spark))
    opened = apply(spark, tmp_path, manager, stage("decrypt", columns=["email"], key="dev"), hidden)
    assert sorted(tuple(r) for r in opened.collect()) == sorted(PLAIN, key=lambda r: r[0])
    hidden.explain("extended")
    opened.explain("extended")
    opened.explain("formatted")
    texts = {"explain": capsys.readouterr().out}
    store = spark._jsparkSession.sharedState().statusStore()  # what the Spark UI's SQL tab shows
    executions = store.executionsList()
    texts["sql tab"] = "\n".join(
        f"{e.description()}\n{e.details()}\n{e.physicalPlanDescription()}"
        for e in (executions.apply(i) for i in range(executions.size()))
    )
    assert "BroadcastNestedLoopJoin" in texts["explain"] and "aesdecrypt" in texts["sql tab"].lower()
    leaks = {
        (where, form)
        for where, text in texts.items()
        for form, v in key_forms(files_keys(tmp_path)).items()
        if v in text
    }
    assert leaks == set()


# --------------------------------------------------------------------------- a whole run, as a subprocess


ENCRYPT_PIPELINE = """
name: crypt_run
spark: {{master: "local[1]"}}
sources:
  - {{name: people, type: csv, path: {data}, schema: "id INT, email STRING"}}
transforms:
  - {{name: hidden, type: encrypt, inputs: [people], columns: [email], key: dev}}
sinks:
  - {{name: out, type: parquet, input: hidden, path: {out}}}
"""


def test_a_run_leaks_no_key_and_reports_the_keys_it_used(tmp_path: Path) -> None:
    write(tmp_path, "etl-project.yaml", PROJECT)
    data = write(tmp_path, "data/people.csv", "id,email\n1,alice@example.com\n2,\n3,bob@example.org\n")
    write(tmp_path, "p/pipeline.yaml", ENCRYPT_PIPELINE.format(data=data, out=tmp_path / "out"))
    created = etl_cli("keys", "create", "dev", "-C", str(tmp_path), cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    env = {"ETL_STATE_DIR": str(tmp_path / ".etl")}
    run = subprocess.Popen(
        [sys.executable, "-m", "etl_cli", "run", "p", "--verbose"],
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    command_lines: set[str] = set()
    while run.poll() is None:
        for process in psutil.process_iter(["cmdline"]):
            command_lines.add(" ".join(process.info["cmdline"] or []))
        time.sleep(0.2)
    stdout, stderr = run.communicate()
    assert run.returncode == 0, stderr
    keys = files_keys(tmp_path)
    rows = pq.read_table(tmp_path / "out").to_pylist()
    assert sorted((r["id"], open_value(r["email"], keys) if r["email"] else None) for r in rows) == [
        (1, "alice@example.com"), (2, None), (3, "bob@example.org"),
    ]  # fmt: skip
    results_file = next((tmp_path / ".etl/runs/crypt_run").rglob("latest.json"))
    results = json.loads(results_file.read_text())
    assert results["keys"] == [
        {"name": "dev", "provider": "local", "key_version": 1, "kek_version": "v1", "created": False}
    ]
    dry = etl_cli("dry-run", "p", cwd=tmp_path, env=env, in_process=False)  # its JVM log is among the texts checked
    listed = etl_cli("keys", "list", "--format", "json", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    texts = {
        "process list": "\n".join(command_lines),
        "output": stdout + stderr,
        "results": results_file.read_text(),
        "logs": "\n".join(p.read_text(errors="replace") for p in (tmp_path / ".etl").rglob("*.log")),
        "dry-run": dry.stdout + dry.stderr,
        "keys list": listed.stdout + listed.stderr,
    }
    assert any(command_lines) and texts["logs"]
    leaks = {(where, form) for where, text in texts.items() for form, v in key_forms(keys).items() if v in text}
    assert leaks == set()


def test_validate_names_an_undeclared_key_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, "etl-project.yaml", PROJECT)
    write(tmp_path, "p/pipeline.yaml", ENCRYPT_PIPELINE.format(data="d.csv", out="out").replace("key: dev", "key: deb"))
    checked = etl_cli("validate", "p", cwd=tmp_path)
    assert checked.returncode == 1
    assert "p/pipeline.yaml:6:" in checked.stdout + checked.stderr
    assert "key 'deb' is not declared" in checked.stdout + checked.stderr and "dev" in checked.stdout + checked.stderr
