"""``env``: secrets from environment variables (``${secret:env:PG_PASSWORD}``).

Unlike ``${env:...}``, a ``${secret:env:...}`` value is read only at run time and is
registered with the redactor. With a key, the variable must hold a JSON object.
"""

from __future__ import annotations

from typing import Any, ClassVar

from etl_cli.plugins.registry import register
from etl_cli.secrets.errors import SecretNotFound
from etl_cli.secrets.provider import SecretProvider
from etl_cli.secrets.providers._fields import pick_json_key
from etl_cli.secrets.refs import SecretRef


@register
class EnvProvider(SecretProvider):
    type: ClassVar[str] = "env"
    description: ClassVar[str] = "environment variables of the process running etl-cli"
    options_schema: ClassVar[dict[str, Any]] = {
        "prefix": {
            "description": "prepended to every path: with prefix ETL_, ${secret:env:PG_PASSWORD} reads ETL_PG_PASSWORD"
        },
    }

    def describe(self) -> str:
        return f"environment variables (provider '{self.name}')"

    def fetch(self, ref: SecretRef) -> str:
        variable = f"{self.setting('prefix', '') or ''}{ref.path}"
        tried = [f"environment variable {variable}"]
        if variable not in self.context.environ:
            raise SecretNotFound(
                ref,
                f"environment variable {variable} is not set",
                tried=tried,
                hint=f"export {variable}=... in the environment that runs etl-cli",
            )
        return pick_json_key(ref, self.context.environ[variable], f"environment variable {variable}", tried)
