"""Opening what ``encrypt`` writes by a second method: the key file, the key ring and ``cryptography``'s AES-GCM.

The transforms encrypt with Spark's ``aes_encrypt``; these helpers unwrap the data keys of a local
key straight from the files and decrypt values with the ``cryptography`` package, so a test compares
Spark's output with plaintext computed without Spark or etl-cli's key code.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def local_data_keys(key_file: Path, ring_file: Path, name: str) -> dict[int, bytes]:
    """Every data-key version of a local key, unwrapped from its ring with the key file."""
    keks = {int(v): base64.b64decode(k) for v, k in json.loads(key_file.read_text())["versions"].items()}
    found = {}
    for entry in json.loads(ring_file.read_text())["versions"]:
        provider, kek_version, blob = entry["wrapped"].split(":")
        assert provider == "local"
        raw = base64.b64decode(blob)
        aad = f"etl-cli:{name}:{entry['version']}".encode()
        found[int(entry["version"])] = AESGCM(keks[int(kek_version[1:])]).decrypt(raw[:12], raw[12:], aad)
    return found


def open_value(value: str, data_keys: dict[int, bytes]) -> str:
    """The plaintext of ``etl:v1:<version>:<base64 of IV(12) | ciphertext | tag(16)>``."""
    fmt, format_version, version, payload = value.split(":", 3)
    assert (fmt, format_version) == ("etl", "v1")
    blob = base64.b64decode(payload)
    return AESGCM(data_keys[int(version)]).decrypt(blob[:12], blob[12:], None).decode("utf-8")


def key_forms(data_keys: dict[int, bytes]) -> dict[str, str]:
    """The ways a key could show in text: hex (both cases) and base64, by a label naming the version."""
    forms = {}
    for version, key in data_keys.items():
        forms[f"v{version} hex"] = key.hex()
        forms[f"v{version} HEX"] = key.hex().upper()
        forms[f"v{version} base64"] = base64.b64encode(key).decode()
    return forms
