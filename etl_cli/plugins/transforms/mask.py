"""The ``mask`` transform: replace the values of personal columns by hashes, tokens, partial or no values.

Methods (docs/data-security.md):

- ``hash``: HMAC-SHA256 of the value's text under a secret key, as 64 lower-case hex digits.
  Spark has no HMAC function; the construction of RFC 2104 is written with its built-ins:
  ``sha2(K⊕opad || unhex(sha2(K⊕ipad || value, 256)), 256)``, the two padded keys computed
  on the driver from the resolved secret;
- ``token``: a format-preserving token: each ASCII digit stays a digit, each ASCII letter a
  letter of the same case, every other character and the length as they are. Character i is
  shifted by byte ``i mod 32`` of ``sha2(HMAC-hex || ':' || (i div 32), 256)``; the same value
  under the same key always gives the same token, so tokens still join. Tokens cannot be
  turned back into values (they are not a cipher), and two values may share a token;
- ``partial``: every character but the last ``keep_last`` replaced by ``mask_char`` (a value
  no longer than ``keep_last`` is masked whole);
- ``redact``: the value replaced by a fixed text (default ``***``);
- ``null``: the value replaced by null (the column keeps its type).

Nulls stay null. hash, token, partial and redact make STRING columns (the value's text is
what they read). The padded keys never appear in Spark's plans as literals: they are columns of
a one-row DataFrame joined to the rows (a broadcast join), dropped again after use; Spark's
plans show only those columns' names (``__mask_ipad_0``...), not their values.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single
from etl_cli.plugins.transforms.columns import require_columns

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

METHODS = ("hash", "token", "partial", "redact", "null")
#: methods that need ``key``: a ``${secret:...}`` reference
KEYED = ("hash", "token")
REDACTED = "***"
#: the options each method accepts besides ``method``
_METHOD_KEYS: dict[str, tuple[str, ...]] = {
    "hash": ("key",),
    "token": ("key",),
    "partial": ("keep_last", "mask_char"),
    "redact": ("text",),
    "null": (),
}
_SECRET_ONLY = re.compile(r"^\$\{secret:[^}]+\}$")
_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)
_PAD_PREFIX = "__mask_"

_METHOD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["method"],
    "properties": {
        "method": {"enum": list(METHODS), "description": "How the column is masked."},
        "key": {
            "type": "string",
            "minLength": 1,
            "description": "hash and token: the secret key, as a reference (${secret:provider:path#key}).",
        },
        "keep_last": {
            "type": "integer",
            "minimum": 0,
            "description": "partial: how many characters at the end stay as they are.",
        },
        "mask_char": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1,
            "default": "*",
            "description": "partial: the character that replaces the others.",
        },
        "text": {"type": "string", "default": REDACTED, "description": "redact: the text that replaces the value."},
    },
}


def method_settings(entry: Any) -> dict[str, Any]:
    """One ``columns`` entry in its long form: ``hash`` is ``{method: hash}``."""
    if isinstance(entry, str):
        return {"method": entry}
    return dict(entry) if isinstance(entry, Mapping) else {}  # another type: the JSON Schema reports it


@register
class MaskTransform(Transform):
    type = "mask"
    description = (
        "Mask personal columns in place: hash (HMAC-SHA256 under a secret key), token (format-preserving, "
        "deterministic per key, so joins still work), partial (keep the last N characters), redact, null."
    )
    required_options = ("columns",)
    options_schema = {
        "columns": {
            "type": "object",
            "minProperties": 1,
            "description": "Column: method (null, redact) or {method, key | keep_last | text}, e.g. "
            'email: {method: hash, key: "${secret:vault:pii#salt}"}, card: {method: partial, keep_last: 4}.',
            "additionalProperties": {"oneOf": [{"enum": list(METHODS)}, _METHOD_SCHEMA]},
        },
    }

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        columns = options.get("columns")
        if not isinstance(columns, Mapping):
            return []
        problems = []
        for column, entry in columns.items():
            settings = method_settings(entry)
            method = settings.get("method")
            if method not in METHODS:
                continue  # the schema reports it
            path: tuple[str | int, ...] = ("columns", column) if isinstance(entry, str) else ("columns", column, "key")
            for key in settings:
                if key != "method" and key not in _METHOD_KEYS[method]:
                    allowed = ", ".join(_METHOD_KEYS[method]) or "nothing else"
                    problems.append(OptionProblem(("columns", column, key), f"{method} takes no '{key}' "
                                                  f"(it takes {allowed})"))  # fmt: skip
            if method in KEYED:
                key_value = settings.get("key")
                if key_value is None:
                    hint = f'write {column}: {{method: {method}, key: "${{secret:vault:pii#salt}}"}}'
                    problems.append(OptionProblem(path, f"{method} needs a key", hint))
                elif not isinstance(key_value, str) or not _SECRET_ONLY.match(key_value):
                    hint = "keep the key in a secret store and write its reference, e.g. ${secret:vault:pii#salt}"
                    problems.append(OptionProblem(path, f"{method}'s key must be one ${{secret:...}} reference", hint))
            if method == "partial" and "keep_last" not in settings:
                hint = f"write {column}: {{method: partial, keep_last: 4}}"
                problems.append(OptionProblem(("columns", column), "partial needs keep_last", hint))
        return problems

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """Each masked column made from itself by an expression (no key in it), the others as they are."""
        (name,) = inputs
        replaced = ", ".join(
            f"{_lineage_expression(column, method_settings(entry))} AS {quote(column)}"
            for column, entry in stage.options["columns"].items()
        )
        return StageLineage(f"SELECT * REPLACE ({replaced}) FROM {quote(name)}")

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        columns: Mapping[str, Any] = stage.options["columns"]
        require_columns(stage, df, "columns", columns)
        settings = {column: method_settings(entry) for column, entry in columns.items()}
        references = list(dict.fromkeys(s["key"] for s in settings.values() if s["method"] in KEYED))
        pads = [_padded_keys(_key_bytes(ctx, stage, reference)) for reference in references]
        if pads:
            row = [bytearray(pad) for pair in pads for pad in pair]
            names = [f"{_PAD_PREFIX}{part}_{i}" for i in range(len(pads)) for part in ("ipad", "opad")]
            schema = ", ".join(f"`{n}` BINARY" for n in names)
            df = df.crossJoin(F.broadcast(ctx.spark.createDataFrame([tuple(row)], schema)))
        types = dict(df.dtypes)
        masked: dict[str, Column] = {}
        for column, setting in settings.items():
            pad_index = references.index(setting["key"]) if setting["method"] in KEYED else None
            masked[column] = _masked(F.col(quote(column)), setting, types[column], pad_index)
        df = df.withColumns(masked)
        if pads:
            df = df.drop(*names)  # the key columns only: an input column may share their prefix
        return df


def _key_bytes(ctx: RunContext, stage: StageSpec, reference: str) -> bytes:
    value = ctx.resolve(reference)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{stage.label}: the key {reference} is empty", location=stage.location)
    return value.encode("utf-8")


def _padded_keys(key: bytes) -> tuple[bytes, bytes]:
    """RFC 2104's K⊕ipad and K⊕opad for SHA-256 (a key longer than the block is hashed first)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_hex(value: Column, pad_index: int) -> Column:
    """HMAC-SHA256 of ``value`` (a string column, read as UTF-8) under the key of pads ``pad_index``, in hex."""
    from pyspark.sql import functions as F

    ipad, opad = F.col(f"{_PAD_PREFIX}ipad_{pad_index}"), F.col(f"{_PAD_PREFIX}opad_{pad_index}")
    inner = F.sha2(F.concat(ipad, value.cast("binary")), 256)
    return F.sha2(F.concat(opad, F.unhex(inner)), 256)


def _masked(column: Column, setting: Mapping[str, Any], kind: str, pad_index: int | None) -> Column:
    from pyspark.sql import functions as F

    method = setting["method"]
    if method == "null":
        return F.lit(None).cast(kind)
    text = column.cast("string")
    if method == "redact":
        return F.when(text.isNotNull(), F.lit(str(setting.get("text", REDACTED))))
    if method == "partial":
        keep = int(setting["keep_last"])
        fill = F.lit(str(setting.get("mask_char", "*")))
        length = F.length(text)
        hidden = F.concat(F.repeat(fill, length - keep), F.right(text, F.lit(keep)) if keep else F.lit(""))
        return F.when(length > keep, hidden).otherwise(F.repeat(fill, length))
    assert pad_index is not None
    digest = hmac_hex(text, pad_index)
    if method == "hash":
        return digest
    return _token(text, digest)


def _token(text: Column, digest: Column) -> Column:
    """Each character shifted within its class (digit, lower, upper) by a byte drawn from the value's HMAC."""
    from pyspark.sql import functions as F

    def shifted(i: Column) -> Column:
        char = text.substr(i + 1, F.lit(1))
        code = F.ascii(char)
        block = F.sha2(F.concat(digest, F.lit(":"), F.floor(i / 32).cast("string")), 256)
        shift = F.conv(block.substr((i % 32) * 2 + 1, F.lit(2)), 16, 10).cast("int")
        return (
            F.when(code.between(48, 57), F.char(48 + (code - 48 + shift) % 10))
            .when(code.between(97, 122), F.char(97 + (code - 97 + shift) % 26))
            .when(code.between(65, 90), F.char(65 + (code - 65 + shift) % 26))
            .otherwise(char)
        )

    length = F.length(text)
    tokens = F.array_join(F.transform(F.sequence(F.lit(0), length - 1), shifted), "")
    return F.when(length == 0, text).otherwise(tokens)


def _lineage_expression(column: str, setting: Mapping[str, Any]) -> str:
    """What the lineage reads a method as: an expression of the column (never the key)."""
    method, name = setting.get("method"), quote(column)
    if method == "null":
        return "NULL"
    if method == "partial":
        keep = int(setting.get("keep_last", 0))
        return f"concat(repeat('*', length({name}) - {keep}), right(CAST({name} AS STRING), {keep}))"
    if method == "redact":
        return f"IF({name} IS NULL, NULL, '{REDACTED}')"
    return f"sha2(CAST({name} AS BINARY), 256)"
