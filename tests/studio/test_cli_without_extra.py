"""``etl-cli studio`` without the ``studio`` extra: its help works, the command says how to install the extra, and
neither ``etl-cli --help`` nor ``etl-cli studio --help`` imports the web libraries (each in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

import pytest

WEB = ("starlette", "uvicorn", "ruamel")


def _run(argv: list[str], hide_web: bool) -> tuple[int, str, list[str]]:
    """Run ``etl-cli ARGV`` in a fresh interpreter; the exit code, stdout+stderr, and the web modules it imported."""
    hidden = "".join(f"sys.modules[{name!r}] = None\n" for name in (*WEB, "ruamel.yaml")) if hide_web else ""
    code = (
        "import sys\n"
        f"{hidden}"
        "from etl_cli.cli.main import main\n"
        f"sys.argv = ['etl-cli', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "else:\n"
        "    code = 0\n"
        f"web = sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r} or m.startswith('etl_cli.studio'))\n"
        "web = [m for m in web if sys.modules[m] is not None]\n"
        "print('imported:', ','.join(web))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    imported = [line for line in done.stdout.splitlines() if line.startswith("imported:")]
    assert imported, done.stdout + done.stderr
    modules = [m for m in imported[-1].removeprefix("imported:").strip().split(",") if m]
    return done.returncode, done.stdout + done.stderr, modules


@pytest.mark.parametrize("hide_web", [False, True], ids=["with-extra", "without-extra"])
def test_the_command_list_imports_no_web_library(hide_web: bool) -> None:
    code, output, modules = _run(["--help"], hide_web)
    assert code == 0, output
    assert "studio" in output
    assert modules == []


@pytest.mark.parametrize("hide_web", [False, True], ids=["with-extra", "without-extra"])
def test_the_studio_help_works_and_imports_no_web_library(hide_web: bool) -> None:
    code, output, modules = _run(["studio", "--help"], hide_web)
    assert code == 0, output
    assert "Usage: etl-cli studio [OPTIONS] [PROJECT]" in output
    assert "--port N" in output and "--open" in output
    assert modules == []


def test_without_the_extra_the_command_exits_2_and_says_how_to_install_it(tmp_path: object) -> None:
    code, output, modules = _run(["studio", str(tmp_path)], hide_web=True)
    assert code == 2, output
    assert "pip install 'etl-cli[studio]'" in output
    assert modules == []
