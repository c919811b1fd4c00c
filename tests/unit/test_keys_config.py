"""The project's ``keys:`` block, and local keys created, used and rotated without Spark."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from etl_cli.config.project import read_project
from etl_cli.secrets.keys.manager import key_manager
from tests.spark.keyshelp import local_data_keys
from tests.unit.helpers import write


def problems(root: Path, keys: str) -> list[str]:
    write(root, "etl-project.yaml", "name: k\nkeys:\n" + keys)
    return [f"{d.location.line}: {d.message}" for d in read_project(root)[1] if d.location]


def test_each_problem_of_the_keys_block_is_reported_at_its_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "  a: {provider: vault}\n"
        "  b: {provider: aws_kms}\n"
        "  c: {provider: local, path: k.key, key_id: x}\n"
        "  d: {provider: local, path: 3}\n"
        "  ok: {provider: vault_transit, key: etl}\n",
    )
    assert found == [
        "3: keys.a.provider must be one of vault_transit, aws_kms, local, got 'vault'",
        "4: keys.b (aws_kms) needs 'key_id'",
        "5: unknown key 'key_id' in keys.c (local)",
        "6: keys.d.path must be a non-empty string, got 3",
    ]
    project, _ = read_project(tmp_path)
    assert list(project.keys) == ["ok"]
    assert project.keys["ok"].secrets == "vault" and project.keys["ok"].mount == "transit"
    assert project.keys["ok"].keyring_path(tmp_path) == tmp_path / "keys/ok.keyring.json"


def test_local_keys_are_created_private_and_rotation_keeps_every_version(tmp_path: Path) -> None:
    write(tmp_path, "etl-project.yaml", "name: k\nkeys:\n  dev: {provider: local, path: secret/dev.key}\n")
    project, _ = read_project(tmp_path)
    manager = key_manager(project, None, environ={})
    assert manager.create("dev")["created"] == [
        f"key file {tmp_path}/secret/dev.key",
        f"key ring {tmp_path}/keys/dev.keyring.json",
    ]
    assert stat.S_IMODE((tmp_path / "secret/dev.key").stat().st_mode) == 0o600
    first = key_manager(project, None, environ={}).data_keys("dev")
    manager.rotate("dev")
    manager.rotate("dev", kek=False)
    after = key_manager(project, None, environ={}).data_keys("dev")
    by_files = local_data_keys(tmp_path / "secret/dev.key", tmp_path / "keys/dev.keyring.json", "dev")
    assert first.current == 1 and after.current == 3
    assert dict(after.keys) == by_files and by_files[1] == first.keys[1] and len(set(by_files.values())) == 3
    ring = json.loads((tmp_path / "keys/dev.keyring.json").read_text())
    assert [v["kek_version"] for v in ring["versions"]] == ["v2", "v2", "v2"]
    assert all(key.hex() not in (tmp_path / "keys/dev.keyring.json").read_text() for key in by_files.values())
