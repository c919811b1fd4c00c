"""What the wizard asks of a connector beyond its required options: its recipe.

A plug-in's options schema says what a stage may hold; some options only make sense
together, and the wizard asks them that way:

- **variant blocks**, a mapping whose ``type`` picks the other keys it needs (a REST
  ``auth:`` of type ``bearer`` needs a ``token``, a ``paginate:`` of type ``cursor`` a
  ``cursor_path``): the type is chosen first, then exactly the keys it needs;
- **follow-ups**, an option whose answer decides which other option is needed (a Redis
  source of ``data_type: stream`` reads a ``stream``, of ``hash`` the keys matching a
  ``pattern``);
- **object-store paths**: a path on ``s3a://``, ``wasb://``/``wasbs://`` or ``gs://`` asks
  the settings block of that store (``s3:``, ``azure:``, ``gcs:``) when the stage type takes
  one; its credentials are asked at a hidden prompt and written as references.

Credentials in connection strings (``mongodb://user:password@host``) are refused unless
the whole string is a reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from etl_cli.model.credentials import is_credential_key
from etl_cli.plugins.object_stores import scheme_of, store_option_problems


@dataclass(frozen=True)
class Field:
    """A key of a block the wizard asks: required or not, and whether it holds a credential."""

    name: str
    required: bool = True
    secret: bool = False


#: options asked after the required ones, by (kind, type): what the connector needs to be useful
ASKED: dict[tuple[str, str], tuple[str, ...]] = {
    ("source", "rest"): ("records_path", "paginate", "auth"),
    ("sink", "rest"): ("method", "auth"),
    ("source", "redis"): ("data_type",),
    ("sink", "redis"): ("data_type",),
}

#: mappings whose ``type`` decides their other keys: option → type → the keys asked (the plug-in's rules)
VARIANTS: dict[str, dict[str, tuple[Field, ...]]] = {
    "auth": {
        "none": (),
        "bearer": (Field("token", secret=True),),
        "basic": (Field("username"), Field("password", secret=True)),
        "api_key": (Field("name"), Field("api_key", secret=True), Field("location", required=False)),
        "oauth2_client_credentials": (
            Field("token_url"),
            Field("client_id"),
            Field("client_secret", secret=True),
            Field("scope", required=False),
        ),
    },
    "paginate": {
        "none": (),
        "page_number": (Field("page_param", required=False), Field("page_size", required=False)),
        "offset": (Field("limit"), Field("limit_param", required=False), Field("offset_param", required=False)),
        "cursor": (Field("cursor_path"), Field("cursor_param", required=False)),
        "link_header": (),
        "next_url": (Field("next_url_path"),),
    },
}
#: the variant that writes no block at all
NO_VARIANT = "none"

#: options whose answer decides the next one: (type, option) → answer → the options then asked
FOLLOW_UPS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("redis", "data_type"): {"hash": ("pattern",), "string": ("pattern",), "stream": ("stream",)},
}
#: sinks whose default mode follows an answer: (type, option, answer) → mode
MODE_AFTER: dict[tuple[str, str, str], str] = {("redis", "data_type", "stream"): "append"}

#: the settings block each object store's paths take, and the keys the wizard asks in it
STORE_BLOCKS: dict[str, tuple[str, tuple[Field, ...]]] = {
    "s3a": (
        "s3",
        (
            Field("endpoint", required=False),
            Field("region", required=False),
            Field("access_key", required=False, secret=True),
            Field("secret_key", required=False, secret=True),
        ),
    ),
    "wasb": ("azure", (Field("account_key", required=False, secret=True), Field("emulator", required=False))),
    "gcs": (
        "gcs",
        (
            Field("endpoint", required=False),
            Field("project_id", required=False),
            Field("auth", required=False),
            Field("service_account_key_file", required=False),
        ),
    ),
}
_SCHEME_STORE = {"s3a": "s3a", "s3": "s3a", "wasb": "wasb", "wasbs": "wasb", "gs": "gcs"}

#: connection-string options that may carry a password in their user part
CONNECTION_STRINGS = ("url", "uri")


def store_block(path: Any) -> tuple[str, tuple[Field, ...]] | None:
    """The settings block (option name and keys asked) a path's object store takes, or None."""
    if not isinstance(path, str) or path.startswith("${"):
        return None
    store = _SCHEME_STORE.get(scheme_of(path))
    return STORE_BLOCKS[store] if store else None


def path_problem(value: Any) -> str | None:
    """Why a path answer names a store that cannot be used (``abfss://``, ``wasb://`` without a container)."""
    if not isinstance(value, str):
        return None
    problems = store_option_problems({"path": value})
    return None if not problems else "; ".join(_said(p.message, p.hint) for p in problems)


def password_problem(value: Any) -> str | None:
    """A connection string holding a literal password: it would be written into the pipeline."""
    if not isinstance(value, str) or value.startswith("${") or "://" not in value:
        return None
    try:
        password = urlsplit(value).password
    except ValueError:
        return None
    if password:
        return "the password would be written into the pipeline: answer a reference, e.g. ${secret:keyring:app/uri}"
    return None


def is_secret_field(block: str, field: Field) -> bool:
    """A block key asked at a hidden prompt (a credential, also when its name does not say so)."""
    return field.secret or is_credential_key(field.name) or is_credential_key(f"{block}_{field.name}")


def variant_schema(option_schema: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The JSON Schema of key ``name`` inside a variant block (``{}`` when not declared)."""
    properties = option_schema.get("properties")
    return dict(properties.get(name, {})) if isinstance(properties, Mapping) else {}


def _said(message: str, hint: str | None) -> str:
    return f"{message} ({hint})" if hint else message
