"""The literal-credential rule: a password, token or secret written as plain text in a pipeline.

Flagged keys, compared case-insensitively word by word (``keyStorePassword`` and
``key_store_password`` are the same): in any stage's options at any depth, in the
``metrics`` and ``dead_letter`` blocks and in ``vars``, a key whose last words are one
of password, passwd, token, secret, secret key, access key, api key or jaas config
(``db_password``, ``client_secret``, ``aws_secret_access_key``,
``kafka.sasl.jaas.config``; not ``token_url``); in ``spark.conf``, a key containing
those words anywhere (``spark.hadoop.fs.s3a.secret.key``) unless it names a file, a
path or a setting about the credential (``spark.authenticate.secret.file``).

A value is literal when it is a non-empty string that was not written as a reference:
``${secret:...}`` stays in the document until run time, and a value produced by
``${env:...}`` is marked as interpolated in the provenance. The rule is an error in
environments the project marks ``protected: true`` and a warning elsewhere. The
message never repeats the value.

The secret-placement rule, on the same walk of the document: a ``${secret:...}``
reference is an error anywhere but in the settings a connector resolves when it connects
(:data:`SECRET_SETTINGS`), in ``spark.conf`` values that never reach a command line, and
in ``vars`` (each use of a var is checked where it lands). Anywhere else the reference
would stay text and flow into paths, queries, expressions and so into the data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.errors import Location
from etl_cli.model.validation import describe_path
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND

CODE = "literal-credential"
PLACEMENT_CODE = "secret-placement"
#: a ``${secret:...}`` reference (group 1: its body), or ``$${``, which escapes a literal ``${``
SECRET_REFERENCE = re.compile(r"\$\$\{|\$\{secret:([^}]*)\}")
#: where a connector resolves references when it connects, by kind and type: option paths, ``*`` any key or item
SECRET_SETTINGS: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {
    "connector": {
        "jdbc": (("url",), ("user",), ("password",), ("properties", "*")),
        "kafka": (("bootstrap_servers",), ("bootstrap_servers", "*"), ("options", "*")),
        "redis": (("url",), ("username",), ("password",)),
        "opensearch": (("url",), ("username",), ("password",)),
        "mongodb": (("uri",),),
        "rest": (("auth", "*"), ("headers", "*")),
        **{files: (("s3", "*"), ("azure", "*"), ("gcs", "*")) for files in ("csv", "json", "orc", "parquet")},
        "delta": (("s3", "*"),),
    },
    "metrics": {"pushgateway": (("url",), ("username",), ("password",))},
    "lineage": {"http": (("url",), ("auth", "*"), ("custom_headers", "*")), "kafka": (("config", "*"),)},
    #: transforms that resolve a key when they run (the mask transform's hash and token keys)
    "transform": {"mask": (("columns", "*", "key"),)},
}
#: Spark settings whose values Spark puts on a command line (``java -cp``, ``-Xmx``, executors' JVM options)
COMMAND_LINE_CONF = frozenset({
    "spark.driver.extraClassPath", "spark.driver.memory", "spark.executor.extraClassPath",
    "spark.executor.defaultJavaOptions", "spark.executor.extraJavaOptions",
})  # fmt: skip
ALLOWED_PLACES = (
    "JDBC url, user, password and properties; Kafka bootstrap_servers and options; "
    "Redis url, username and password; the MongoDB uri; OpenSearch url, username and password; "
    "a file stage's s3, azure and gcs settings; a Delta stage's s3 settings; "
    "a REST stage's auth and headers; "
    "a mask transform's keys; the Pushgateway's url, username and password; the lineage transport's http url, "
    "auth and custom_headers "
    "and kafka config; tracing headers; spark.conf values (except executor JVM options, class paths "
    "and spark.driver.memory, which Spark puts on command lines); vars used in those places"
)
_CREDENTIAL_ENDINGS: tuple[tuple[str, ...], ...] = (
    ("password",),
    ("passwd",),
    ("token",),
    ("secret",),
    ("secret", "key"),
    ("access", "key"),
    ("api", "key"),
    ("apikey",),
    ("secretkey",),
    ("accesskey",),
    ("jaas", "config"),  # Kafka's sasl.jaas.config: a login line with the password in it
)
_NOT_A_VALUE = {
    "file", "path", "dir", "location", "provider", "providers", "enabled", "class", "type", "name", "names",
    "url", "uri", "regex", "id", "mode", "algorithm", "length", "bits", "size", "timeout", "duration", "ttl",
}  # fmt: skip
_CAMEL = re.compile(r"([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])")

Path = tuple[str | int, ...]


def words(key: str) -> list[str]:
    """``keyStorePassword`` → ``['key', 'store', 'password']``; separators: anything not a letter or digit."""
    spaced = _CAMEL.sub(lambda m: f"{m.group(1) or m.group(3)}_{m.group(2) or m.group(4)}", key)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def is_credential_key(key: str) -> bool:
    """An option key that holds a credential: its last words are a credential word."""
    found = words(key)
    return any(tuple(found[-len(end) :]) == end for end in _CREDENTIAL_ENDINGS)


def is_credential_conf_key(key: str) -> bool:
    """A Spark conf key that holds a credential: credential words anywhere, not naming a file or setting."""
    found = words(key)
    if not found or found[-1] in _NOT_A_VALUE:
        return False
    return any(
        tuple(found[i : i + len(end)]) == end for end in _CREDENTIAL_ENDINGS for i in range(len(found) - len(end) + 1)
    )


def check_literal_credentials(document: dict[str, Any], provenance: Provenance, protected: bool) -> list[Diagnostic]:
    """A diagnostic for each credential written as a literal (error when ``protected``, else warning)."""
    return [
        _diagnostic(document, provenance, path, protected)
        for path, value in _candidates(document)
        if _is_literal(value, path, provenance)
    ]


def _candidates(document: dict[str, Any]) -> Iterator[tuple[Path, Any]]:
    for kind in KINDS:
        section = document.get(SECTION_OF_KIND[kind])
        if isinstance(section, list):
            for index, stage in enumerate(section):
                yield from _credential_leaves(stage, (SECTION_OF_KIND[kind], index))
    for block in ("metrics", "dead_letter", "lineage"):
        if isinstance(document.get(block), dict):
            yield from _credential_leaves(document[block], (block,))
    variables = document.get("vars")
    if isinstance(variables, dict):
        for name, value in variables.items():
            if is_credential_key(str(name)):
                yield ("vars", name), value
    spark = document.get("spark")
    conf = spark.get("conf") if isinstance(spark, dict) else None
    if isinstance(conf, dict):
        for key, value in conf.items():
            if is_credential_conf_key(str(key)):
                yield ("spark", "conf", key), value


def _credential_leaves(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    return ((where, leaf) for where, leaf in leaves(value, path) if is_credential_key(str(where[-1])))


def leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar under ``value`` with its path (keys and list indexes), in document order."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from leaves(child, (*path, index))
    else:
        yield path, value


def secret_references(text: str) -> Iterator[re.Match[str]]:
    """The ``${secret:...}`` references written in ``text`` (``$${secret:`` is an escaped literal, not one)."""
    return (match for match in SECRET_REFERENCE.finditer(text) if match.group(1) is not None)


def check_secret_placement(document: dict[str, Any], provenance: Provenance) -> list[Diagnostic]:
    """An error for each ``${secret:...}`` written where no connector resolves it, at the reference itself."""
    return [
        _misplaced(document, provenance, path, match.group(0))
        for path, value in leaves(document)
        if isinstance(value, str) and not secret_allowed(document, path)
        for match in secret_references(value)
    ]


def secret_allowed(document: dict[str, Any], path: Path) -> bool:
    """Whether a reference at ``path`` is resolved at run time: a connection setting, ``spark.conf`` or ``vars``."""
    section, rest = path[0] if path else None, path[1:]
    if section == "vars":
        return True
    if section == "spark":
        return len(rest) == 2 and rest[0] == "conf" and rest[1] not in COMMAND_LINE_CONF
    if section == "tracing":  # the exporter's HTTP headers, resolved when the run's trace starts
        return len(rest) == 2 and rest[0] == "headers"
    if section in ("sources", "sinks") and rest:
        item, kind, rest = _item(document[section], rest[0]), "connector", rest[1:]
    elif section == "transforms" and rest:
        item, kind, rest = _item(document[section], rest[0]), "transform", rest[1:]
    elif section == "dead_letter":
        item, kind = document[section], "connector"
    elif section == "metrics":
        item, kind = document[section], "metrics"
    elif section == "lineage" and rest[:1] == ("transport",):
        item, kind, rest = document[section]["transport"], "lineage", rest[1:]
    else:
        return False
    kind_type = item.get("type") if isinstance(item, dict) else None
    settings = SECRET_SETTINGS[kind].get(kind_type, ()) if isinstance(kind_type, str) else ()
    return any(_matches(rest, pattern) for pattern in settings)


def _item(section: Any, index: str | int) -> Any:
    return section[index] if isinstance(section, list) and isinstance(index, int) else None


def _matches(path: Path, pattern: tuple[str, ...]) -> bool:
    return len(path) == len(pattern) and all(want in ("*", got) for got, want in zip(path, pattern, strict=True))


def _misplaced(document: dict[str, Any], provenance: Provenance, path: Path, reference: str) -> Diagnostic:
    message = (
        f"{describe_path(document, path)} holds the secret reference {reference}, but secrets are resolved only in "
        "connection settings: here it would stay text and flow into the data"
    )
    hint = f"secret references are allowed in: {ALLOWED_PLACES}"
    return error(PLACEMENT_CODE, message, reference_location(provenance, path, reference), hint)


def reference_location(provenance: Provenance, path: Path, reference: str) -> Location | None:
    """Where ``reference`` is written in the value at ``path``: its own line and column when that value's text
    (up to the next value of the file) holds it, else the value's location (a reference brought by a var)."""
    start = provenance.value_location(path)
    if start is None or start.line <= 0:
        return start
    try:
        lines = FilePath(start.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return start
    end = _next_location(provenance, start)
    last_line = min(len(lines), end.line if end else len(lines))
    for number in range(start.line, last_line + 1):
        line = lines[number - 1]
        first = start.column - 1 if number == start.line else 0
        stop = end.column - 1 if end is not None and number == end.line else len(line)
        column = line.find(reference, first, stop)
        if column >= 0:
            return Location(start.file, number, column + 1)
    return start


def _next_location(provenance: Provenance, start: Location) -> Location | None:
    """The first key or value written after ``start`` in the same file (where the value at ``start`` ends)."""
    later = [
        loc
        for info in provenance.entries.values()
        for loc in (info.loc, info.key_loc)
        if loc is not None and loc.file == start.file and (loc.line, loc.column) > (start.line, start.column)
    ]
    return min(later, key=lambda loc: (loc.line, loc.column), default=None)


def _is_literal(value: Any, path: Path, provenance: Provenance) -> bool:
    if not isinstance(value, str) or not value or "${secret:" in value:
        return False
    info = provenance.info(path)
    return not (info is not None and info.interpolated)


def _diagnostic(document: dict[str, Any], provenance: Provenance, path: Path, protected: bool) -> Diagnostic:
    key = str(path[-1])
    entry, variable = _suggested_names(document, path)
    field = variable.lower() if path[0] == "spark" else key
    hint = (
        f'write {key}: "${{secret:vault:{entry}#{field}}}" (or "${{env:{variable}}}") and keep the value '
        f"in a secret store, e.g. etl-cli secrets set keyring:{entry}#{field}"
    )
    where = describe_path(document, path)
    message = f"{where} is a credential written as plain text"
    if protected:
        return error(CODE, message, provenance.value_location(path), hint)
    return warning(CODE, f"{message} (an error in protected environments)", provenance.value_location(path), hint)


def _suggested_names(document: dict[str, Any], path: Path) -> tuple[str, str]:
    """A secret path (``pipeline/stage``) and an environment variable name (``STAGE_PASSWORD``) for the hint."""
    pipeline = document.get("name") if isinstance(document.get("name"), str) else "pipeline"
    stage = None
    if len(path) > 2 and path[0] in SECTION_OF_KIND.values():
        item = document[str(path[0])][int(path[1])]
        stage = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None
    entry = f"{pipeline}/{stage}" if stage else str(pipeline)
    variable = "_".join([*words(stage or ""), *words(str(path[-1]))[-3:]]).upper()
    return entry, variable
