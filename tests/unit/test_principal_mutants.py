"""The operating-system user a run reads data as (config/principal.py ``_os_user``), pinned where mutation testing
found it loose.

Each of LOGNAME, USER, LNAME and USERNAME names the user (in that order, as :func:`getpass.getuser` reads them),
a blank one is skipped, and without any the passwd entry of the process's user id does; a user id without a name
leaves the principal unknown.
"""

from __future__ import annotations

import pwd
from types import SimpleNamespace

import pytest

from etl_cli.config.principal import OS_USER, PrincipalName, resolve_principal


@pytest.fixture(autouse=True)
def passwd(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process's passwd entry names ``svc``, whoever runs the tests."""
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: SimpleNamespace(pw_name="svc"))


@pytest.mark.parametrize("variable", ["LOGNAME", "USER", "LNAME", "USERNAME"])
def test_each_login_variable_names_the_os_user(variable: str) -> None:
    assert resolve_principal(None, {variable: " ann "}) == PrincipalName("ann", OS_USER)


def test_the_login_variables_are_read_in_getpass_order() -> None:
    environ = {"USERNAME": "d", "LNAME": "c", "USER": "b", "LOGNAME": "a"}
    assert resolve_principal(None, environ) == PrincipalName("a", OS_USER)
    del environ["LOGNAME"]
    assert resolve_principal(None, environ) == PrincipalName("b", OS_USER)
    del environ["USER"]
    assert resolve_principal(None, environ) == PrincipalName("c", OS_USER)


def test_blank_login_variables_are_skipped() -> None:
    assert resolve_principal(None, {"LOGNAME": " ", "USER": "", "LNAME": "lee"}) == PrincipalName("lee", OS_USER)


def test_without_login_variables_the_passwd_entry_names_the_os_user() -> None:
    assert resolve_principal(None, {"LOGNAME": "  "}) == PrincipalName("svc", OS_USER)


def test_a_user_id_without_a_name_leaves_the_principal_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: SimpleNamespace(pw_name=""))
    assert resolve_principal(None, {}) is None

    def unknown(uid: int) -> SimpleNamespace:
        raise KeyError(uid)

    monkeypatch.setattr(pwd, "getpwuid", unknown)
    assert resolve_principal(None, {}) is None
