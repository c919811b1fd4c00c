"""``encrypt`` and ``decrypt``: column values encrypted with AES-256-GCM by Spark's own ``aes_encrypt``.

Envelope encryption (docs/data-security.md): each value is encrypted with a data key (DEK) of a
key named in the project's ``keys:``; the data keys are kept wrapped by a key-encryption key in
Vault transit, AWS KMS or a local key file, and the run unwraps them through ``ctx.keys``.

An encrypted value is text: ``etl:v1:<data-key version>:`` then the base64 of what
``aes_encrypt(value, key, 'GCM')`` returns (a random 12-byte IV, the ciphertext, the 16-byte tag).
The version in the header lets data encrypted before and after a rotation sit side by side.

The data keys never become SQL literals: they travel in a one-row DataFrame (a map from version
to key bytes) broadcast and cross-joined to the rows, so plans (``explain``, the Spark UI's SQL
tab, dry-run output) show a column reference, never the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from etl_cli.errors import ConfigError
from etl_cli.plugins.api import DataKeys, OptionProblem, RunContext, StageLineage, StageSpec, Transform
from etl_cli.plugins.registry import register
from etl_cli.plugins.spark_types import quote, single, string_list
from etl_cli.plugins.transforms.columns import require_columns

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

#: what every encrypted value starts with: the format, then the data-key version and ``:``
PREFIX = "etl:v1:"
_KEY_OPTION = {
    "type": "string",
    "minLength": 1,
    "description": "The key to use: a name declared under keys: in etl-project.yaml (docs/data-security.md).",
}


def _column_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    columns = options.get("columns") or []
    if not isinstance(columns, list):
        return []  # the JSON Schema reports the type
    seen: set[str] = set()
    problems = []
    for index, column in enumerate(columns):
        if str(column).lower() in seen:
            problems.append(OptionProblem(("columns", index), f"column '{column}' is listed twice"))
        seen.add(str(column).lower())
    return problems


class _CryptoTransform(Transform):
    required_options = ("columns", "key")
    verb: ClassVar[str]

    @classmethod
    def keeps_row_count(cls, options: Mapping[str, Any]) -> bool:
        return True

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return _column_problems(options)

    @classmethod
    def streaming_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        return [OptionProblem((), f"{cls.type} works on batch runs only; it is not supported on streams")]

    @classmethod
    def column_lineage(cls, stage: StageSpec, inputs: Mapping[str, Sequence[str] | None]) -> StageLineage:
        """Each listed column replaced by a function of itself (the key is no column of the data)."""
        (name,) = inputs
        replaced = ", ".join(f"{cls.verb}({quote(c)}) AS {quote(c)}" for c in stage.options["columns"])
        return StageLineage(f"SELECT * REPLACE ({replaced}) FROM {quote(name)}")

    def data_keys(self, ctx: RunContext, stage: StageSpec) -> DataKeys:
        key = str(stage.options["key"])
        if ctx.keys is None:
            raise ConfigError(
                f"{stage.label}: key '{key}' is not declared: the project has no keys: block",
                location=stage.location,
                hint="declare it under keys: in etl-project.yaml (docs/data-security.md)",
            )
        return ctx.keys.data_keys(key)

    def transform(
        self, ctx: RunContext, stage: StageSpec, df: DataFrame, keys: DataKeys, ring: Column
    ) -> dict[str, Column]:
        raise NotImplementedError

    def apply(self, ctx: RunContext, stage: StageSpec, inputs: Mapping[str, DataFrame]) -> DataFrame:
        from pyspark.sql import functions as F

        df = single(inputs)
        columns = list(stage.options["columns"])
        require_columns(stage, df, "columns", columns)
        keys = self.data_keys(ctx, stage)
        holder = _unused_name(df.columns)
        joined = df.crossJoin(F.broadcast(key_frame(ctx.spark, keys, holder)))
        made = self.transform(ctx, stage, df, keys, F.col(quote(holder)))
        return joined.select(*[made[c].alias(c) if c in made else F.col(quote(c)) for c in df.columns])


@register
class EncryptTransform(_CryptoTransform):
    type = "encrypt"
    verb = "encrypt"
    description = (
        "Encrypt columns with AES-256-GCM (Spark's aes_encrypt) under a data key of a project key (keys: in "
        "etl-project.yaml); each value becomes the text etl:v1:<key version>:<base64>, null stays null."
    )
    options_schema = {
        "columns": string_list(
            "Columns to encrypt. STRING values are encrypted as UTF-8, BINARY as they are, others as their text "
            "(decrypt returns STRING: cast it back with select's cast).",
            min_items=1,
        ),
        "key": _KEY_OPTION,
        "reencrypt": {
            "type": "boolean",
            "default": False,
            "description": "Re-encryption after a key rotation: values already encrypted (etl:v1: header) are "
            "decrypted with their own key version and encrypted with the current one; other values are encrypted.",
        },
    }

    def transform(
        self, ctx: RunContext, stage: StageSpec, df: DataFrame, keys: DataKeys, ring: Column
    ) -> dict[str, Column]:
        from pyspark.sql import functions as F

        types = dict(df.dtypes)
        made = {}
        for column in stage.options["columns"]:
            value = F.col(quote(column))
            plain = value if types[column] == "binary" else value.cast("string").cast("binary")
            if stage.options.get("reencrypt"):
                decrypted = decrypted_value(value.cast("string"), ring, keys, stage, column, on_error="fail")
                plain = F.when(value.cast("string").startswith(PREFIX), decrypted.cast("binary")).otherwise(plain)
            made[column] = encrypted_value(plain, ring, keys.current)
        return made


@register
class DecryptTransform(_CryptoTransform):
    type = "decrypt"
    verb = "decrypt"
    description = (
        "Decrypt columns written by encrypt, each value with the key version its header names (versions before "
        "a rotation included); the result is STRING, null stays null."
    )
    options_schema = {
        "columns": string_list("Columns to decrypt (values etl:v1:<key version>:<base64> written by encrypt).", 1),
        "key": _KEY_OPTION,
        "on_error": {
            "enum": ["fail", "null"],
            "default": "fail",
            "description": "A value that is not encrypted, names a key version the ring lacks, or fails "
            "authentication (tampered, another key): fail the stage (default) or make it null.",
        },
    }

    def transform(
        self, ctx: RunContext, stage: StageSpec, df: DataFrame, keys: DataKeys, ring: Column
    ) -> dict[str, Column]:
        from pyspark.sql import functions as F

        on_error = str(stage.options.get("on_error", "fail"))
        made = {}
        for column in stage.options["columns"]:
            made[column] = decrypted_value(F.col(quote(column)).cast("string"), ring, keys, stage, column, on_error)
        return made


def key_frame(spark: SparkSession, keys: DataKeys, column: str) -> DataFrame:
    """One row, one column: the map from data-key version to key bytes (data, never a literal of a plan)."""
    ring = {version: bytearray(key) for version, key in keys.keys.items()}
    return spark.createDataFrame([(ring,)], f"{quote(column)} MAP<INT, BINARY>")


def encrypted_value(plain: Column, ring: Column, version: int) -> Column:
    """``etl:v1:<version>:`` + base64(AES-GCM of ``plain`` under key ``version`` of ``ring``); null stays null."""
    from pyspark.sql import functions as F

    sealed = F.aes_encrypt(plain, F.element_at(ring, F.lit(version)), F.lit("GCM"))
    text = F.regexp_replace(F.base64(sealed), r"[\r\n]", "")  # never MIME-chunked, whatever the Spark setting
    return F.concat(F.lit(f"{PREFIX}{version}:"), text)


def decrypted_value(text: Column, ring: Column, keys: DataKeys, stage: StageSpec, column: str, on_error: str) -> Column:
    """The STRING that ``text`` (``etl:v1:<version>:<base64>``) encrypts; null stays null.

    A value without the header, with a version the ring lacks, or failing GCM's authentication
    fails the stage (``on_error: fail``, naming the stage and column, never a key) or becomes null.
    """
    from pyspark.sql import functions as F

    parts = F.split(text, ":", 4)
    version = F.element_at(parts, 3).try_cast("int")
    payload = F.element_at(parts, 4)
    known = text.startswith(PREFIX) & version.isin(sorted(keys.keys)) & (F.size(parts) == 4)
    key = F.element_at(ring, version)
    if on_error == "null":
        opened = F.try_aes_decrypt(F.try_to_binary(payload, F.lit("base64")), key, F.lit("GCM"))
        return F.when(known, opened.cast("string"))
    opened = F.aes_decrypt(F.unbase64(payload), key, F.lit("GCM"))
    versions = ", ".join(f"v{v}" for v in sorted(keys.keys))
    refused = F.raise_error(
        F.lit(
            f"{stage.label}: a value of column '{column}' is not one encrypt wrote with key '{keys.name}' "
            f"(header {PREFIX}<version>: with a version of the key ring: {versions})"
        )
    )
    return F.when(text.isNull(), F.lit(None).cast("string")).when(known, opened.cast("string")).otherwise(refused)


def _unused_name(columns: Sequence[str]) -> str:
    taken = {c.lower() for c in columns}
    name, n = "__etl_data_keys", 0
    while name.lower() in taken:
        n += 1
        name = f"__etl_data_keys_{n}"
    return name
