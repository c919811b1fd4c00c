"""How ``etl-project.yaml`` becomes a :class:`Project` (config/project.py: ``_ProjectReader.project``, through
``read_project``), pinned where mutation testing found it loose.

Every top-level key reaches its own field of the project as written: the name (else the folder's name), the
environments and the default one, the templates and state folders (resolved under the root), the secret providers,
the ``lineage``, ``catalogs``, ``principals`` and ``access`` blocks as written, the history limits, the schedule,
the alert thresholds, the policies, the keys, the audit settings and the Spark Connect server. Each key written
wrong is reported at its place, with its own name in the message and its hint, one problem per key after an unknown
key of the file; the default environment and the schedule's ``env`` are checked against the environments the file
lists; what is right is kept. A file that is not a mapping is one problem at its first line, and the project is the
folder with the default environments. No JVM.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from etl_cli.config.alerts import AlertSettings, AlertThresholds
from etl_cli.config.audit import AuditSettings
from etl_cli.config.keys import KeySettings
from etl_cli.config.nodes import Node, to_plain
from etl_cli.config.policies import PolicySpec
from etl_cli.config.project import Environment, HistorySettings, Project, read_project
from etl_cli.config.yaml_loader import display_path
from etl_cli.errors import Location

from .helpers import make_project, said

EVERY_KEY = """\
name: Shop ETL
default_env: live
environments:
  qa: {}
  live: {protected: true}
templates_dir: tpl
state_dir: run/state
secrets:
  vault: {url: https://vault.example}
lineage: {namespace: shop}
catalogs:
  main: {type: hive}
history: {keep_days: 7, keep_runs_per_pipeline: 3}
schedule: {cron: '30 2 * * *', env: live}
alerts: {grace: 2h}
principals:
  ann: {groups: [ops]}
access:
  own_rows: {filter: "owner = 'x'"}
policies: [{name: pii-only-masked, tags: [pii], sinks: {types: [jdbc]}, require: masked}]
keys:
  dev: {provider: local, path: .etl/keys/dev.key}
audit: {hmac_key: '${secret:vault:etl/audit#key}'}
spark: {remote: 'sc://spark.example:15002'}
"""

#: each key written wrong, under a folder named ``shop``; ``nme`` is a misspelt ``name``
EVERY_KEY_WRONG = """\
nme: shop
default_env: prod
environments: {qa: {}}
secrets: 1
lineage: 2
catalogs: 3
history: 4
schedule: {env: prod}
alerts: 5
principals: 6
access: 7
policies: 8
keys: 9
audit: 10
spark: 11
"""


def project_folder(tmp_path: Path, text: str) -> Path:
    """A project folder named ``shop`` whose etl-project.yaml holds ``text``."""
    return make_project(tmp_path / "shop", project=text)


def plain(block: Node | None) -> object:
    return None if block is None else to_plain(block)[0]


def test_every_key_of_the_project_file_reaches_its_setting(tmp_path: Path) -> None:
    root = project_folder(tmp_path, EVERY_KEY)
    project, problems = read_project(root)
    assert problems == []
    config_file = root / "etl-project.yaml"
    assert project == Project(
        root=root.resolve(),
        name="Shop ETL",
        default_env="live",
        environments={"qa": Environment("qa"), "live": Environment("live", protected=True)},
        templates_dir=(root / "tpl").resolve(),
        state_dir=(root / "run/state").resolve(),
        config_file=config_file,
        secrets={"vault": {"url": "https://vault.example"}},
        history=HistorySettings(keep_days=7, keep_runs_per_pipeline=3),
        spark_remote="sc://spark.example:15002",
    )
    # the blocks kept as written (not compared by Project's ==)
    assert {
        "lineage": plain(project.lineage),
        "catalogs": plain(project.catalogs),
        "schedule": plain(project.schedule),
        "principals": plain(project.principals),
        "access": plain(project.access),
    } == {
        "lineage": {"namespace": "shop"},
        "catalogs": {"main": {"type": "hive"}},
        "schedule": {"cron": "30 2 * * *", "env": "live"},
        "principals": {"ann": {"groups": ["ops"]}},
        "access": {"own_rows": {"filter": "owner = 'x'"}},
    }
    where = display_path(config_file)
    assert project.alerts == AlertSettings(defaults=dataclasses.replace(AlertThresholds(), grace_s=7200))
    assert project.policies == (
        PolicySpec("pii-only-masked", ("pii",), ("jdbc",), (), "masked", None, Location(where, 20, 12)),
    )
    assert project.keys == {
        "dev": KeySettings("dev", "local", path=".etl/keys/dev.key", location=Location(where, 22, 3)),
    }
    assert project.audit == AuditSettings(hmac_key="${secret:vault:etl/audit#key}")


def test_each_key_written_wrong_is_reported_at_its_place_and_what_is_right_is_kept(tmp_path: Path) -> None:
    root = project_folder(tmp_path, EVERY_KEY_WRONG)
    project, problems = read_project(root)
    assert [said(problem) for problem in problems] == [
        ("unknown-key", "unknown key 'nme' in etl-project.yaml", "did you mean 'name'?", 1, 1),
        (
            "unknown-environment",
            "default_env 'prod' is not one of the environments: qa",
            "add 'prod' under environments:, or name one of them",
            2,
            14,
        ),
        ("wrong-type", "'secrets' must map provider names to their settings", None, 4, 10),
        ("wrong-type", "'lineage' must be a mapping of settings, got 2", None, 5, 10),
        ("wrong-type", "'catalogs' must be a mapping of settings, got 3", None, 6, 11),
        ("wrong-type", "history must be a mapping, got 4", "for example: history: {keep_days: 30}", 7, 10),
        ("invalid-schedule", "schedule.env: unknown environment 'prod'", "choose one of: qa", 8, 17),
        ("wrong-type", "alerts must be a mapping, got 5", "for example: alerts: {grace: 1h, max_age: 26h}", 9, 9),
        ("wrong-type", "'principals' must be a mapping of settings, got 6", None, 10, 13),
        ("wrong-type", "'access' must be a mapping of settings, got 7", None, 11, 9),
        (
            "wrong-type",
            "policies must be a list of policies",
            "for example: policies: [{name: pii-only-masked, tags: [pii], sinks: {types: [jdbc, kafka]}, "
            "require: masked}]",
            12,
            11,
        ),
        (
            "wrong-type",
            "keys must map key names to their settings, got 9",
            "for example: keys: {customer: {provider: vault_transit, key: etl-customer}}",
            13,
            7,
        ),
        ("wrong-type", "audit must be a mapping, got 10", None, 14, 8),
        ("not-a-mapping", "spark must be a mapping (remote: sc://host:port)", None, 15, 8),
    ]
    assert {problem.location.file for problem in problems if problem.location} == {
        display_path(root / "etl-project.yaml")
    }
    # the name falls back to the folder's, the listed environments are kept, every wrong key is left unset
    assert project == Project(
        root=root.resolve(),
        name="shop",
        environments={"qa": Environment("qa")},
        config_file=root / "etl-project.yaml",
    )
    assert [project.lineage, project.catalogs, project.schedule, project.principals, project.access] == [None] * 5
    assert (project.alerts, project.policies, project.keys, project.audit) == (AlertSettings(), (), {}, AuditSettings())


def test_a_project_file_that_is_not_a_mapping_is_one_problem_and_the_folder_keeps_the_default_environments(
    tmp_path: Path,
) -> None:
    root = project_folder(tmp_path, "- name: shop\n- default_env: dev\n")
    project, problems = read_project(root)
    assert [said(problem) for problem in problems] == [
        ("not-a-mapping", "etl-project.yaml must be a mapping (key: value)", None, 1, 1)
    ]
    assert project == Project(
        root=root.resolve(),
        environments={"dev": Environment("dev"), "staging": Environment("staging"), "prod": Environment("prod", True)},
        config_file=root / "etl-project.yaml",
    )
