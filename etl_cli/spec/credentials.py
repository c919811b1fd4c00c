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
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from etl_cli.config.nodes import Provenance
from etl_cli.diagnostics import Diagnostic, error, warning
from etl_cli.plugins.api import KINDS, SECTION_OF_KIND
from etl_cli.spec.validation import describe_path

CODE = "literal-credential"
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
    for block in ("metrics", "dead_letter"):
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
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, (dict, list)):
                yield from _credential_leaves(child, (*path, key))
            elif is_credential_key(str(key)):
                yield (*path, key), child
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _credential_leaves(child, (*path, index))


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
