"""``etl-cli init``: a new project with the layout etl-cli expects, and one example pipeline that runs.

The files are written only where none exists (a file already there is kept and reported),
and a folder that already holds ``etl-project.yaml`` is refused: a project is set up once.
The example reads a small CSV file shipped with it, so ``validate`` and ``run`` work at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from etl_cli.config.limits import NAME_RULE, is_name
from etl_cli.config.project import PROJECT_FILE
from etl_cli.errors import UsageError

EXAMPLE = "example"

_PROJECT = """\
# etl-cli project settings: environments, and where pipelines keep their state (docs/configuration.md).
name: {name}
default_env: dev
environments:
  dev: {{}}
  staging: {{}}
  prod:
    protected: true
# How long `etl-cli runs list` keeps runs (docs/orchestration.md, "Run history").
history:
  keep_days: 90
  keep_runs_per_pipeline: 500
"""

_PIPELINE = """\
# Orders per country from the small CSV file in data/: a pipeline to edit into your own.
# Run it from the project folder with:  etl-cli run pipelines/{example}
name: {example}
description: Orders and revenue per country, from a sample CSV file.

spark:
  master: local[2]
  conf:
    spark.sql.shuffle.partitions: 2

sources:
  - name: orders
    type: csv
    path: pipelines/{example}/data/orders.csv
    schema:
      order_id: BIGINT
      country: STRING
      amount: DECIMAL(10,2)

transforms:
  - name: per_country
    type: aggregate
    inputs: [orders]
    group_by: [country]
    aggregations:
      orders: {{function: count}}
      revenue: {{function: sum, column: amount}}

sinks:
  - name: per_country_out
    type: parquet
    input: per_country
    path: output/{example}/per_country
    mode: overwrite
"""

_ORDERS = """\
order_id,country,amount
1,FR,12.50
2,DE,8.00
3,FR,4.25
4,NL,20.00
5,DE,3.75
"""

_TEMPLATES = """\
# Templates

Pipeline templates of this project: a pipeline names one with `extends: <file name>` and overrides
what it needs. etl-cli looks here first, then in its bundled templates (docs/configuration.md).
"""

_GITIGNORE = """\
# etl-cli: run results, run history, locks and incremental state; and what the pipelines write locally
.etl/
output/
spark-warehouse/
metastore_db/
derby.log
"""

_README = """\
# {name}

Pipelines for etl-cli: YAML pipelines compiled to Apache Spark jobs.

```
etl-cli validate pipelines/{example}   # check a pipeline without Spark
etl-cli run pipelines/{example}        # run it (writes output/{example}/)
etl-cli runs list                      # what ran, when, how it went
```

- `etl-project.yaml`: environments (dev, staging, prod) and project settings
- `pipelines/<name>/pipeline.yaml`: one folder per pipeline, with its data or `env/<env>.yaml` overlays
- `templates/`: pipeline templates to `extends:`
- `.etl/`: run results, history, locks and incremental state (not in version control)
"""


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` did: the files it wrote and those already there, which it kept."""

    root: Path
    name: str
    written: tuple[Path, ...]
    kept: tuple[Path, ...]


def project_files(name: str) -> Mapping[str, str]:
    """The files of a new project named ``name``, by path relative to its folder."""
    values = {"name": name, "example": EXAMPLE}
    return {
        PROJECT_FILE: _PROJECT.format(**values),
        f"pipelines/{EXAMPLE}/pipeline.yaml": _PIPELINE.format(**values),
        f"pipelines/{EXAMPLE}/data/orders.csv": _ORDERS,
        "templates/README.md": _TEMPLATES,
        ".gitignore": _GITIGNORE,
        "README.md": _README.format(**values),
    }


def scaffold_project(folder: Path, name: str | None = None) -> Scaffold:
    """Write a new project into ``folder`` (created if missing), keeping every file already there."""
    if (folder / PROJECT_FILE).exists():
        raise UsageError(
            f"{folder / PROJECT_FILE} exists: {folder} is already a project",
            hint="choose an empty folder or a new one: etl-cli init NEW_FOLDER",
        )
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file, not a folder")
    chosen = name or folder.resolve().name
    if not is_name(chosen):
        raise UsageError(f"'{chosen}' is not a project name: use {NAME_RULE}", hint="name it with --name NAME")
    written, kept = [], []
    for relative, text in project_files(chosen).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x", encoding="utf-8") as out:  # "x": never over a file that is there
                out.write(text)
        except FileExistsError:
            kept.append(path)
            continue
        written.append(path)
    return Scaffold(folder, chosen, tuple(written), tuple(kept))
