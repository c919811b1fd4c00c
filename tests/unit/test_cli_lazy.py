"""Lazily imported commands (etl_cli/cli/lazy.py) look and behave exactly like the others.

``etl-cli --help`` lists them from the summaries written in etl_cli/cli/main.py, so the first
test fails whenever a command's help changes and its summary there was not changed with it.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer

from etl_cli.cli.lazy import LazyGroup, LazySpec
from etl_cli.cli.main import cli
from tests.clihelp import REPO, etl_cli


def root_group() -> Any:
    return typer.main.get_command(cli)


def lazy_specs() -> tuple[LazySpec, ...]:
    root = root_group()
    assert isinstance(root, LazyGroup)
    return root.lazy_commands


@pytest.mark.parametrize("spec", lazy_specs(), ids=lambda spec: spec.name)
def test_the_listed_summary_is_the_first_paragraph_of_the_commands_help(spec: LazySpec) -> None:
    real = spec.build()
    first_paragraph = real.help.split("\n\n")[0]
    assert spec.summary == first_paragraph, f"update the summary of '{spec.name}' in etl_cli/cli/main.py"
    for limit in (40, 80, 1000):
        assert spec.stand_in().get_short_help_str(limit) == real.get_short_help_str(limit)


def test_help_lists_the_commands_in_the_order_they_are_declared() -> None:
    result = etl_cli("--help")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    expected = ["validate", "render", "run", "recover", "schema", "dry-run", "debug", "create-pipeline", "secrets"]
    assert [name for name in listed if name in expected] == expected
    assert listed.index("dlq") == listed.index("secrets") + 1


def test_a_lazy_group_shows_its_own_help() -> None:
    result = etl_cli("dlq", "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: etl-cli dlq [OPTIONS] COMMAND [ARGS]..." in result.stdout
    listed = [word for word in ("count", "show", "replay") if f"\n  {word} " in result.stdout]
    assert listed == ["count", "show", "replay"]


def test_a_lazy_group_without_a_command_shows_its_help_and_exits_2() -> None:
    result = etl_cli("secrets")
    assert result.returncode == 2
    assert "Usage: etl-cli secrets [OPTIONS] COMMAND [ARGS]..." in result.stdout + result.stderr


def test_a_mistyped_lazy_command_is_suggested() -> None:
    result = etl_cli("secret")
    assert result.returncode == 2
    assert "No such command 'secret'. Did you mean 'secrets'?" in result.stderr


def test_the_command_tree_holds_the_real_commands() -> None:
    """Code walking the tree (tests, doc generators) sees every subcommand, not a stand-in."""
    secrets = root_group().commands["secrets"]
    assert list(secrets.commands) == ["set", "get", "list", "test", "audit"]


def test_completing_a_command_name_offers_the_summaries_and_imports_no_command() -> None:
    probe = (
        "import sys, typer\n"
        "from etl_cli.cli.main import cli\n"
        "root = typer.main.get_command(cli)\n"
        "ctx = root.make_context('etl-cli', [], resilient_parsing=True)\n"
        "for item in root.shell_complete(ctx, 'd'):\n"
        "    print(item.value, '|', item.help)\n"
        "print('imported:', sorted(m for m in sys.modules if m in ('etl_cli.cli.debug', 'etl_cli.cli.dryrun_cmd',"
        " 'etl_cli.cli.dlq_cmd')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "dry-run | Let Spark analyse every stage and list...",  # click cuts a summary at 45 characters here
        "debug | Run a pipeline stage by stage and look at...",
        "dlq | Inspect a pipeline's dead-letter queue and...",
        "dag | Show the project's pipelines as one DAG...",
        "imported: []",
    ]


def test_validate_loads_no_spark_and_no_http_client() -> None:
    """`validate` runs in CI on every pull request: plug-ins that speak HTTP or Spark import those on first use."""
    probe = (
        "import sys\n"
        "from etl_cli.cli.main import main\n"
        "try:\n"
        "    main(['validate', 'pipelines/quickstart', 'pipelines/customers_secure'])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "heavy = ('pyspark', 'py4j', 'http.client', 'urllib.request', 'ssl', 'starlette', 'uvicorn', 'ruamel')\n"
        "print('imported:', sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["exit 0", "imported: []"], result.stdout
