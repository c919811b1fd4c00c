"""Built-in secret providers; importing this package registers them."""

from etl_cli.secrets.providers import aws, env, file, keyring, vault

__all__ = ["aws", "env", "file", "keyring", "vault"]
