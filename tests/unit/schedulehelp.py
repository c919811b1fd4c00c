"""A small project of three pipelines with schedules, for the tests of ``etl-cli schedule``.

``a`` (scheduled) ← ``b`` (``depends_on: [a]``) ← ``c`` (reads what ``b`` writes). The project's
``schedule:`` gives every pipeline the Europe/Paris time zone.
"""

from __future__ import annotations

from pathlib import Path

from .helpers import make_project

PROJECT = """\
name: shop
default_env: dev
environments: {dev: {}, prod: {}}
schedule: {timezone: Europe/Paris}
"""
A_SCHEDULE = "schedule: {cron: '30 2 * * *'}\nretry: {attempts: 4, initial_delay: 5, multiplier: 3, max_delay: 60}\n"
B_SCHEDULE = "schedule: {cron: '0 6 1 * MON-FRI', env: prod, catchup: true, max_active_runs: 2}\n"
#: the same project with prod protected: ``b``'s scheduled runs (env: prod) need ``--confirm-env prod``
PROTECTED_PROJECT = """\
name: shop
default_env: dev
environments: {dev: {}, prod: {protected: true}}
schedule: {timezone: Europe/Paris}
"""


def shop(root: Path, a: str = A_SCHEDULE, b: str = B_SCHEDULE, c: str = "", project: str = PROJECT) -> Path:
    """Write the project at ``root`` with these ``schedule:`` (and other top-level) lines; return ``root``."""
    files = {
        "in.csv": "id,amount\n1,10\n2,20\n",
        "pipelines/a/pipeline.yaml": "name: a\n"
        + a
        + "sources: [{name: s, type: csv, path: in.csv}]\n"
        + "sinks: [{name: o, type: parquet, input: s, path: out/a}]\n",
        "pipelines/b/pipeline.yaml": "name: b\ndepends_on: [a]\n"
        + b
        + "sources: [{name: s, type: parquet, path: out/x}]\n"
        + "sinks: [{name: o, type: parquet, input: s, path: out/b}]\n",
        "pipelines/c/pipeline.yaml": "name: c\n"
        + c
        + "sources: [{name: s, type: parquet, path: out/b}]\n"
        + "sinks: [{name: o, type: parquet, input: s, path: out/c}]\n",
    }
    return make_project(root, files, project=project)
