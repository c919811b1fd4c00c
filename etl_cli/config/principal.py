"""Who a run reads data as: the principal the project's row-level ``access:`` rules filter for.

The principal is named, in this order, by ``--as NAME``, by ``$ETL_PRINCIPAL``, else it is the
operating-system user running etl-cli. Its attributes (``tenant``, ``region``, ``groups``...) are
declared under the project's ``principals:`` (:mod:`etl_cli.model.access` reads them); this module
only finds the name, and says where it came from, for the run results and the audit trail.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

#: the variable naming the principal when ``--as`` is not given
PRINCIPAL_VAR = "ETL_PRINCIPAL"
#: where the principal's name came from, as the run results write it
OPTION, ENV, OS_USER = "option", "env", "os"


@dataclass(frozen=True)
class PrincipalName:
    """A principal's name and where it came from: ``option`` (``--as``), ``env`` (ETL_PRINCIPAL) or ``os``."""

    name: str
    source: str


def resolve_principal(given: str | None, environ: Mapping[str, str] | None = None) -> PrincipalName | None:
    """The principal: ``given`` (``--as``), else ``$ETL_PRINCIPAL``, else the OS user; None when none is known.

    Blank values count as not given. The OS user is the login name the process runs as
    (as :func:`getpass.getuser` finds it), unknown in a container whose user id has no name.
    """
    environ = os.environ if environ is None else environ
    if given is not None and given.strip():
        return PrincipalName(given.strip(), OPTION)
    from_env = (environ.get(PRINCIPAL_VAR) or "").strip()
    if from_env:
        return PrincipalName(from_env, ENV)
    user = _os_user(environ)
    return PrincipalName(user, OS_USER) if user else None


def _os_user(environ: Mapping[str, str]) -> str | None:
    """The OS user: LOGNAME, USER, LNAME or USERNAME (as :func:`getpass.getuser`), else its passwd entry."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        value = (environ.get(name) or "").strip()
        if value:
            return value
    try:
        import pwd  # not on Windows, where the variables above name the user

        return pwd.getpwuid(os.getuid()).pw_name or None
    except (ImportError, KeyError, OSError):  # no name for the process's user id
        return None
