"""Column-encryption keys: envelope encryption with data keys wrapped by Vault transit, AWS KMS or a key file.

See docs/data-security.md. The pieces: :mod:`.kek` (the key-encryption keys and their services),
:mod:`.ring` (the key ring file of wrapped data keys), :mod:`.manager` (a run's data keys, and
``etl-cli keys``). The ``keys:`` block itself is read by etl_cli/config/keys.py.
"""

from etl_cli.secrets.keys.kek import KeyServiceError, KeySettingsError
from etl_cli.secrets.keys.manager import KeyManager, key_manager

__all__ = ["KeyManager", "KeyServiceError", "KeySettingsError", "key_manager"]
