"""The JDBC and S3 example pipelines and templates validate offline (no JVM, no services).

Each example also runs end to end in tests/integration (test_jdbc_*.py, test_s3_*.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from etl_cli import app
from tests.clihelp import REPO

EXAMPLES = ["csv_to_postgres_upsert", "postgres_to_parquet_incremental", "s3_to_mariadb", "postgres_to_s3"]
TEMPLATES: dict[str, dict[str, object]] = {
    "jdbc_to_jdbc_upsert": {
        "source_url": "jdbc:postgresql://oltp:5432/shop",
        "source_table": "public.customers",
        "source_user": "reader",
        "source_password": "${secret:env:SHOP_PASSWORD}",
        "target_url": "jdbc:mysql://dwh:3306/dwh",
        "target_table": "customers",
        "target_user": "loader",
        "target_password": "${secret:env:DWH_PASSWORD}",
    },
    "s3_to_jdbc": {
        "input_path": "s3a://landing/orders/",
        "jdbc_url": "jdbc:postgresql://dwh:5432/dwh",
        "table": "staging.orders",
        "user": "loader",
        "password": "${secret:env:DWH_PASSWORD}",
        "access_key": "${secret:env:AWS_ACCESS_KEY_ID}",
        "secret_key": "${secret:env:AWS_SECRET_ACCESS_KEY}",
        "mode": "upsert",
    },
    "jdbc_to_s3": {
        "jdbc_url": "jdbc:postgresql://oltp:5432/shop",
        "table": "public.orders",
        "user": "reader",
        "password": "${secret:env:SHOP_PASSWORD}",
        "output_path": "s3a://lake/shop/orders",
        "partition_by": ["order_date"],
        "access_key": "${secret:env:AWS_ACCESS_KEY_ID}",
        "secret_key": "${secret:env:AWS_SECRET_ACCESS_KEY}",
    },
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_pipeline_validates_in_every_environment_without_warnings(name: str) -> None:
    reports = app.validate([REPO / "pipelines" / name], all_envs=True)
    assert {r.env for r in reports} >= {"dev", "prod"}
    assert [str(d) for r in reports for d in r.diagnostics] == []


def yaml_params(params: dict[str, object]) -> str:
    lines = []
    for key, value in params.items():
        text = "[" + ", ".join(map(str, value)) + "]" if isinstance(value, list) else f'"{value}"'
        lines.append(f"    {key}: {text}")
    return "\n".join(lines)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_builds_a_valid_pipeline_from_its_required_params(template: str, tmp_path: Path) -> None:
    (tmp_path / "etl-project.yaml").write_text("name: uses-templates\n")  # bundled templates are found
    pipeline = tmp_path / "pipelines" / "p" / "pipeline.yaml"
    pipeline.parent.mkdir(parents=True)
    pipeline.write_text(f"extends:\n  template: {template}\n  params:\n{yaml_params(TEMPLATES[template])}\n")

    reports = app.validate([pipeline], all_envs=True)
    assert [str(d) for r in reports for d in r.diagnostics] == []
    _, spec = app.load_spec(pipeline, "prod")
    assert {s.type for s in spec.stages} >= {"jdbc"}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_template_documents_itself_and_every_param(template: str) -> None:
    text = (REPO / "templates" / f"{template}.yaml").read_text()
    assert text.startswith("# Template:") and "extends:" in text, "a header comment shows how to use it"
    params = yaml.safe_load(text)["params"]
    assert [name for name, spec in params.items() if not spec.get("description")] == []
    assert set(TEMPLATES[template]) >= {name for name, spec in params.items() if spec.get("required")}
