"""Find a Java runtime Spark can use, or explain exactly how to get one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from etl_cli.errors import EnvironmentSetupError

MIN_JAVA = 17
_INSTALL_HINT = (
    "install a JDK 17 or newer (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless; "
    "macOS: brew install openjdk@17) and put 'java' on PATH or set JAVA_HOME"
)


def find_java() -> Path:
    """The ``java`` executable Spark will launch: ``$JAVA_HOME/bin/java`` or the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file():
            return candidate
        raise EnvironmentSetupError(
            f"JAVA_HOME is set to {java_home}, but {candidate} does not exist", hint=_INSTALL_HINT
        )
    found = shutil.which("java")
    if found is None:
        raise EnvironmentSetupError(
            "Java was not found: Spark needs a Java runtime to run pipelines", hint=_INSTALL_HINT
        )
    return Path(found)


def java_major_version(java: Path) -> int | None:
    """The major version ``java -version`` reports (None when it cannot be read)."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def ensure_java() -> Path:
    """Check Java is present and recent enough before Spark tries (and fails obscurely)."""
    java = find_java()
    version = java_major_version(java)
    if version is not None and version < MIN_JAVA:
        raise EnvironmentSetupError(
            f"{java} is Java {version}; Spark 4 needs Java {MIN_JAVA} or newer", hint=_INSTALL_HINT
        )
    return java
