"""The environments, the default environment and the Spark Connect server of etl-project.yaml (config/project.py:
``_ProjectReader._environments``, ``_default_env`` and ``_spark_remote``, through ``read_project``), pinned where
mutation testing found them loose.

``environments:`` that is not a mapping is one problem at its value, showing what was written, with an example of
the right form; the project then lists no environments (it does not fall back to the defaults). A ``default_env``
that is not a name is reported as such at its value and left unset; one that is not among the listed environments
names every one of them, in the file's order. ``spark.remote`` that is not a Spark Connect URL (text starting with
``sc://``) is reported with the form to write and left unset, and a key of ``spark:`` other than ``remote`` is an
unknown key of ``spark``. Each problem is compared whole: code, message, hint, line and column. No JVM.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_cli.config.limits import NAME_RULE
from etl_cli.config.project import DEFAULT_ENVIRONMENTS, read_project

from .helpers import make_project, said

Problem = tuple[str, str, str | None, int, int]


@pytest.mark.parametrize(
    ("text", "problems", "environments", "default_env", "spark_remote"),
    [
        (
            "environments: [dev, prod]\n",
            [
                (
                    "wrong-type",
                    "environments must map each environment name to its settings, got ['dev', 'prod']",
                    "for example: environments: {dev: {}, prod: {protected: true}}",
                    1,
                    15,
                )
            ],
            [],
            None,
            None,
        ),
        (
            "default_env: ../x\n",
            [("invalid-name", f"environment '../x' is not a name: use {NAME_RULE}", None, 1, 14)],
            list(DEFAULT_ENVIRONMENTS),
            None,
            None,
        ),
        (
            "environments: {qa: {}, live: {}}\ndefault_env: prod\n",
            [
                (
                    "unknown-environment",
                    "default_env 'prod' is not one of the environments: qa, live",
                    "add 'prod' under environments:, or name one of them",
                    2,
                    14,
                )
            ],
            ["qa", "live"],
            None,
            None,
        ),
        (
            "spark:\n  remote: spark://m:7077\n  master: x\n",
            [
                ("bad-remote", "spark.remote must be a Spark Connect URL", "write sc://host:port", 2, 11),
                ("unknown-key", "unknown key 'master' in spark", "known keys: remote", 3, 3),
            ],
            list(DEFAULT_ENVIRONMENTS),
            None,
            None,
        ),
        (
            "spark: {remote: 15002}\n",
            [("bad-remote", "spark.remote must be a Spark Connect URL", "write sc://host:port", 1, 17)],
            list(DEFAULT_ENVIRONMENTS),
            None,
            None,
        ),
        (
            "environments: {qa: {}, live: {}}\ndefault_env: live\nspark: {remote: 'sc://h:15002'}\n",
            [],
            ["qa", "live"],
            "live",
            "sc://h:15002",
        ),
    ],
    ids=[
        "environments-not-a-mapping",
        "default-env-not-a-name",
        "default-env-not-listed",
        "remote-not-a-connect-url-and-unknown-spark-key",
        "remote-not-text",
        "all-right",
    ],
)
def test_environments_default_env_and_spark_remote_are_kept_when_right_and_reported_whole_when_wrong(
    tmp_path: Path,
    text: str,
    problems: list[Problem],
    environments: list[str],
    default_env: str | None,
    spark_remote: str | None,
) -> None:
    project, found = read_project(make_project(tmp_path, project=text))
    assert [said(problem) for problem in found] == problems
    assert (list(project.environments), project.default_env, project.spark_remote) == (
        environments,
        default_env,
        spark_remote,
    )


def test_each_secrets_entry_that_is_not_a_mapping_is_reported_at_its_value_and_the_others_are_kept(
    tmp_path: Path,
) -> None:
    text = "secrets:\n  vault: 5\n  aws: {region: eu-west-1}\n  env: [a]\n  keyring:\n"
    project, found = read_project(make_project(tmp_path, project=text))
    assert [said(problem) for problem in found] == [
        ("wrong-type", "'secrets.vault' must be a mapping of settings", None, 2, 10),
        ("wrong-type", "'secrets.env' must be a mapping of settings", None, 4, 8),
    ]
    assert project.secrets == {"aws": {"region": "eu-west-1"}, "keyring": {}}
