"""Connections etl-cli opens itself, on the JVM, with the driver Spark uses; retries; error classes.

Why the JVM's driver (through py4j) rather than a Python DB-API driver: the statement
runs against exactly the URL, driver and properties that Spark's own connections use
(TLS settings, MariaDB's ``permitMysqlScheme``, any other database with a JDBC driver),
the catalog is read through one portable API (``DatabaseMetaData``), and no second
driver has to be installed, configured and kept in step.

A connection that fails because the server cannot be reached (SQLSTATE class 08, refused
or timed-out sockets, unknown hosts) raises :class:`ServerUnreachable`, a
``ConnectionError``: the run retries the stage's operation with the stage's ``retry:``
policy (exponential backoff with jitter, tenacity) behind the endpoint's circuit breaker
(:mod:`etl_cli.runtime.safeguards.resilience`). A refused login (SQLSTATE 28000/28P01, MySQL error
1045) raises :class:`LoginRefused`, a RunError, which is never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from etl_cli import tracing
from etl_cli.errors import RunError
from etl_cli.plugins.jdbc.options import ConnectionSettings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

AUTH_SQLSTATES = {"28000", "28P01"}
AUTH_ERROR_CODES = {1045}  # MySQL and MariaDB: access denied for user
#: MySQL and MariaDB errors about a row's values whose SQLSTATE is the generic HY000 (or 01000):
#: wrong value for the column's type (1366), data truncated (1265), CHECK constraint (MySQL 3819, MariaDB 4025)
ROW_ERROR_CODES = {1265, 1366, 3819, 4025}
_NETWORK_ERRORS = {
    "java.net.ConnectException",
    "java.net.NoRouteToHostException",
    "java.net.SocketTimeoutException",
    "java.net.UnknownHostException",
    "java.net.PortUnreachableException",
}


class LoginRefused(RunError):
    """The database refused the credentials; never retried."""


class ServerUnreachable(ConnectionError):
    """The server could not be reached: a transient failure, retried by the run."""


# --------------------------------------------------------------------------- Java exceptions


def java_throwables(exc: BaseException) -> Iterator[Any]:
    """The Java exception behind a py4j error, then each of its causes."""
    current = getattr(exc, "java_exception", None)
    seen = 0
    while current is not None and seen < 20:
        yield current
        current = current.getCause()
        seen += 1


def _sql_state(throwable: Any) -> str | None:
    try:
        state = throwable.getSQLState()
    except Exception:  # not a java.sql.SQLException
        return None
    return str(state) if state else None


def _error_code(throwable: Any) -> int | None:
    try:
        return int(throwable.getErrorCode())
    except Exception:  # not a java.sql.SQLException
        return None


def is_auth_failure(exc: BaseException) -> bool:
    """The database refused the login (wrong user or password)."""
    if isinstance(exc, LoginRefused):
        return True
    return any(_sql_state(t) in AUTH_SQLSTATES or _error_code(t) in AUTH_ERROR_CODES for t in java_throwables(exc))


def is_unreachable(exc: BaseException) -> bool:
    """The server could not be reached (worth retrying): connection SQLSTATEs, socket errors."""
    if is_auth_failure(exc):
        return False
    for throwable in java_throwables(exc):
        state = _sql_state(throwable)
        if state and state.startswith("08"):
            return True
        if str(throwable.getClass().getName()) in _NETWORK_ERRORS:
            return True
    return False


def is_row_error(exc: BaseException) -> bool:
    """The database refused the rows of a statement for their values (a constraint, a cast, a length, a range),
    not for the statement itself or the connection: SQLSTATE classes 22 and 23, and MySQL's equivalents."""
    for throwable in java_throwables(exc):
        state = _sql_state(throwable)
        if state and state[:2] in ("22", "23"):
            return True
        if _error_code(throwable) in ROW_ERROR_CODES:
            return True
    return False


def is_cardinality_violation(exc: BaseException) -> bool:
    """SQLSTATE 21000: one statement would change a row twice (PostgreSQL's upsert of a repeated key)."""
    return any(_sql_state(t) == "21000" for t in java_throwables(exc))


def java_message(exc: BaseException) -> str:
    """The most telling line of a Java error: the first SQL exception's message, else the root cause's."""
    throwables = list(java_throwables(exc))
    if not throwables:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    chosen = next((t for t in throwables if _sql_state(t) is not None), throwables[-1])
    message = chosen.getMessage()
    name = str(chosen.getClass().getName()).rsplit(".", 1)[-1]
    text = str(message).strip().splitlines()[0] if message else name
    state = _sql_state(chosen)
    return f"{text} (SQLSTATE {state})" if state and state not in text else text


# --------------------------------------------------------------------------- connections


class JdbcConnection:
    """A ``java.sql.Connection`` with the few operations etl-cli needs; closed on exit."""

    def __init__(self, jconn: Any, settings: ConnectionSettings):
        self.jconn = jconn
        self.settings = settings

    def __enter__(self) -> JdbcConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with suppress(Exception):  # closing a broken connection: nothing left to release
            self.jconn.close()

    def execute(self, sql: str) -> int:
        """Run one statement; return its update count (-1 when it has none)."""
        with self._traced(sql) as span:
            statement = self.jconn.createStatement()
            try:
                if statement.execute(sql):
                    return -1
                count = int(statement.getUpdateCount())
                span.set("db.rows_affected", count)
                return count
            finally:
                statement.close()

    def query(self, sql: str, max_rows: int = 0) -> list[list[Any]]:
        """Rows of a query as Python values (numbers and text; anything else as its text)."""
        with self._traced(sql):
            statement = self.jconn.createStatement()
            try:
                statement.setMaxRows(max_rows)
                result = statement.executeQuery(sql)
                width = int(result.getMetaData().getColumnCount())
                rows = []
                while result.next():
                    rows.append([_value(result, i) for i in range(1, width + 1)])
                return rows
            finally:
                statement.close()

    def _traced(self, sql: str) -> AbstractContextManager[tracing.Span]:
        """The trace's span of one statement: the database, its verb and server, not its text (it may hold data)."""
        verb = sql.split(None, 1)[0].upper() if sql.strip() else ""
        system, where = self.settings.dialect.name, self.settings.where
        return tracing.span("jdbc.statement", **{"db.system": system, "db.operation": verb, "server.address": where})

    @contextmanager
    def transaction(self) -> Iterator[JdbcConnection]:
        """Statements inside run in one transaction: committed at the end, rolled back on any error."""
        self.jconn.setAutoCommit(False)
        try:
            yield self
            self.jconn.commit()
        except BaseException:
            with suppress(Exception):  # the connection broke: the server rolls back on its own
                self.jconn.rollback()
            raise
        finally:
            with suppress(Exception):  # broken connection; it is closed next anyway
                self.jconn.setAutoCommit(True)

    @contextmanager
    def trial(self) -> Iterator[JdbcConnection]:
        """A transaction that is always rolled back: to see what statements would do."""
        self.jconn.setAutoCommit(False)
        try:
            yield self
        finally:
            with suppress(Exception):  # the connection broke: the server rolls back on its own
                self.jconn.rollback()
            with suppress(Exception):
                self.jconn.setAutoCommit(True)

    def attempt(self, sql: str, refusal: Callable[[BaseException], bool]) -> BaseException | None:
        """Run ``sql`` inside the open transaction, behind a savepoint. Its changes stay if it succeeds; if it
        fails with an error ``refusal`` accepts, they are undone and the error returned (others are raised)."""
        savepoint = self.jconn.setSavepoint()
        try:
            self.execute(sql)
        except Exception as exc:
            if not refusal(exc):
                raise
            self.jconn.rollback(savepoint)
            return exc
        self.jconn.releaseSavepoint(savepoint)
        return None

    def metadata(self) -> Any:
        return self.jconn.getMetaData()


def _value(result: Any, index: int) -> Any:
    value = result.getObject(index)
    if value is None or isinstance(value, (bool, int, float, Decimal, str)):
        return value
    return str(result.getString(index))


def open_connection(spark: SparkSession, settings: ConnectionSettings) -> JdbcConnection:
    """Connect once; raise LoginRefused (never retried), ServerUnreachable (retried by the run) or RunError."""
    driver = _load_driver(spark, settings)
    with tracing.span("jdbc.connect", **{"db.system": settings.dialect.name, "server.address": settings.where}):
        try:
            return JdbcConnection(_connect(spark, driver, settings), settings)
        except Exception as exc:
            raise _connection_error(exc, settings) from None


def _connect(spark: SparkSession, driver: Any, settings: ConnectionSettings) -> Any:
    jvm = spark._jvm
    assert jvm is not None
    props = jvm.java.util.Properties()
    for key, value in settings.driver_properties().items():
        props.setProperty(key, value)
    jconn = driver.connect(settings.spark_url, props)
    if jconn is None:
        raise RunError(f"driver {settings.driver} does not accept the URL {settings.spark_url.split('?')[0]}")
    return jconn


def _load_driver(spark: SparkSession, settings: ConnectionSettings) -> Any:
    jvm = spark._jvm
    assert jvm is not None, "JDBC stages need a classic (non-Connect) Spark session"
    loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    try:
        return jvm.java.lang.Class.forName(settings.driver, True, loader).newInstance()
    except Exception as exc:
        raise RunError(
            f"JDBC driver {settings.driver} is not on Spark's classpath ({java_message(exc)})",
            hint="etl-cli adds the drivers of PostgreSQL, MySQL and MariaDB itself; for another database add "
            "its jar to spark.packages or spark.jars",
        ) from None


def _connection_error(exc: BaseException, settings: ConnectionSettings) -> Exception:
    label, where = settings.dialect.label, settings.where
    detail = settings.scrub(java_message(exc))
    if is_auth_failure(exc):
        return LoginRefused(
            f"{label} at {where} refused the login: {detail}; not retried",
            hint="check user and password (etl-cli never shows the password)",
        )
    if is_unreachable(exc):
        return ServerUnreachable(f"cannot reach {label} at {where} (check host, port and that it runs): {detail}")
    if isinstance(exc, RunError):
        return exc
    return RunError(f"cannot connect to {label} at {where}: {detail}")


def connect(
    spark: SparkSession,
    settings_for: Callable[[Callable[[Any], Any]], ConnectionSettings],
    with_rotation: Callable[..., JdbcConnection],
) -> JdbcConnection:
    """Open a connection whose credentials are re-read once from their secret store if the login is refused."""
    return with_rotation(lambda resolve: open_connection(spark, settings_for(resolve)), is_auth_failure)


def database_error(action: str, exc: BaseException, settings: ConnectionSettings) -> RunError:
    """A RunError for a failed statement or Spark JDBC job: what was done, where, the driver's message."""
    if isinstance(exc, RunError):
        return exc
    detail = settings.scrub(java_message(exc))
    return RunError(f"{action} on {settings.dialect.label} at {settings.where} failed: {detail}")
