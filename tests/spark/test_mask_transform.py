"""The ``mask`` transform on Spark, and tagged columns masked wherever rows are shown (docs/data-security.md).

Expected hashes come from Python's ``hmac`` module; expected tokens from a second implementation of the
token rule written here in plain Python; partial and redact values are written by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from etl_cli.plugins.api import RunContext, StageSpec
from etl_cli.plugins.transforms.mask import MaskTransform
from tests.clihelp import etl_cli
from tests.unit.helpers import make_project

KEY_REF = "${secret:env:PII_SALT}"
KEY = "s3cr3t-salt-for-tests"
LONG_REF = "${secret:env:LONG_SALT}"
LONG_KEY = "k" * 100  # longer than SHA-256's block: hashed first, as RFC 2104 says
ROWS = [
    (1, "ann@example.com", "+49 170 1234567", "4111-1111-1111-1234", 42),
    (2, "Bob.Smith@Example.org", "0301234", "55", 7),
    (3, None, "", None, None),
    (4, "ann@example.com", "x", "4111-1111-1111-1234", 42),
]


def hmac_hex(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def token(key: str, value: str) -> str:
    """The token rule, written again: character i shifted within its class by a byte of a hash chain."""
    digest = hmac_hex(key, value)
    out = []
    for i, char in enumerate(value):
        block = hashlib.sha256(f"{digest}:{i // 32}".encode()).hexdigest()
        shift = int(block[(i % 32) * 2 : (i % 32) * 2 + 2], 16)
        for first, size in ((ord("0"), 10), (ord("a"), 26), (ord("A"), 26)):
            if first <= ord(char) < first + size:
                char = chr(first + (ord(char) - first + shift) % size)
                break
        out.append(char)
    return "".join(out)


def mask(spark: Any, columns: dict[str, Any]) -> Any:
    df = spark.createDataFrame(ROWS, "id INT, email STRING, phone STRING, card STRING, score INT")
    stage = StageSpec("masked", "transform", "mask", ("people",), {"columns": columns})
    secrets = {KEY_REF: KEY, LONG_REF: LONG_KEY}
    ctx = RunContext(spark=spark, project_root=Path("."), run_id="r", resolve=lambda ref: secrets[ref])
    return MaskTransform().apply(ctx, stage, {"people": df})


def test_hash_is_hmac_sha256_under_the_secret_key(spark: Any) -> None:
    out = mask(spark, {"email": {"method": "hash", "key": KEY_REF}, "phone": {"method": "hash", "key": LONG_REF}})
    assert out.columns == ["id", "email", "phone", "card", "score"]
    got = {r["id"]: (r["email"], r["phone"]) for r in out.collect()}
    assert got[1] == (hmac_hex(KEY, "ann@example.com"), hmac_hex(LONG_KEY, "+49 170 1234567"))
    assert got[2] == (hmac_hex(KEY, "Bob.Smith@Example.org"), hmac_hex(LONG_KEY, "0301234"))
    assert got[3] == (None, hmac_hex(LONG_KEY, ""))
    assert got[4][0] == got[1][0]


def test_tokens_keep_the_format_and_join(spark: Any) -> None:
    out = mask(spark, {"phone": {"method": "token", "key": KEY_REF}, "card": {"method": "token", "key": KEY_REF},
                       "email": {"method": "token", "key": KEY_REF}})  # fmt: skip
    got = {r["id"]: r for r in out.collect()}
    for i, (_, email, phone, card, _) in enumerate(ROWS, start=1):
        assert got[i]["phone"] == token(KEY, phone)
        assert got[i]["card"] == (token(KEY, card) if card is not None else None)
        assert got[i]["email"] == (token(KEY, email) if email is not None else None)
    first = got[1]["card"]
    assert first != "4111-1111-1111-1234" and len(first) == 19 and first[4::5] == "---"
    assert all(c.isdigit() for c in first.replace("-", ""))
    email = got[2]["email"]
    assert email != "Bob.Smith@Example.org" and [c.isupper() for c in email] == [
        c.isupper() for c in "Bob.Smith@Example.org"
    ]
    assert got[3]["phone"] == ""
    # the same value under the same key: the same token, so masked tables still join
    people = out.alias("a").join(out.alias("b"), on="card").where("a.id < b.id").select("a.id", "b.id").collect()
    assert [tuple(r) for r in people] == [(1, 4)]


def test_partial_redact_and_null(spark: Any) -> None:
    out = mask(spark, {
        "card": {"method": "partial", "keep_last": 4},
        "phone": {"method": "partial", "keep_last": 3, "mask_char": "#"},
        "email": {"method": "redact", "text": "[gone]"},
        "score": "null",
    })  # fmt: skip
    assert dict(out.dtypes)["score"] == "int"
    got = [(r["card"], r["phone"], r["email"], r["score"]) for r in out.orderBy("id").collect()]
    assert got == [
        ("***************1234", "############567", "[gone]", None),
        ("**", "####234", "[gone]", None),  # no longer than keep_last: masked whole
        (None, "", None, None),
        ("***************1234", "#", "[gone]", None),
    ]


def test_the_key_stays_out_of_the_plan(spark: Any) -> None:
    out = mask(spark, {"email": {"method": "hash", "key": KEY_REF}})
    plan = out._jdf.queryExecution().toString()
    padded = KEY.encode().ljust(64, b"\0")
    for secret in (KEY, bytes(b ^ 0x36 for b in padded).hex(), bytes(b ^ 0x5C for b in padded).hex()):
        assert secret.lower() not in plan.lower()
    assert "sha2" in plan  # it is the plan of the masking


PIPELINE = """\
name: people
sources:
  - name: customers
    type: csv
    path: customers.csv
    options: {header: true}
    schema: "id INT, email STRING, city STRING"
    contract:
      columns:
        id: INT
        email: {type: STRING, pii: email}
        city: STRING
transforms:
  - name: masked
    type: mask
    inputs: [customers]
    columns:
      email: {method: hash, key: "${secret:env:PII_SALT}"}
checks:
  - {name: known_city, type: accepted_values, stage: customers, column: city, values: [Oslo], action: quarantine}
dead_letter: {type: json, path: dlq}
sinks:
  - {name: out, type: json, input: masked, path: out}
"""


def test_tagged_columns_are_masked_in_debug_dry_run_check_samples_and_dead_letters(tmp_path: Path) -> None:
    make_project(tmp_path, {"p/pipeline.yaml": PIPELINE, "customers.csv": (
        "id,email,city\n1,ann@example.com,Oslo\n2,bob@example.com,Rome\n3,cid@example.com,Oslo\n"
    )})  # fmt: skip
    env = {"PII_SALT": KEY, "ETL_STATE_DIR": str(tmp_path / "state")}

    debug = etl_cli("debug", "p", cwd=tmp_path, env=env)
    assert debug.returncode == 0, debug.stderr
    assert "@example.com" not in debug.stdout
    assert "tags: email: pii, pii:email" in debug.stdout
    assert "email: pii, pii:email (masked)" in debug.stdout
    assert hmac_hex(KEY, "ann@example.com")[:12] in debug.stdout  # masked values are shown as they are

    dry = etl_cli("dry-run", "p", "--sample", "10", cwd=tmp_path, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "tags    email: pii, pii:email\n" in dry.stdout and "tags    email: pii, pii:email (masked)" in dry.stdout
    assert '{"city": "Rome", "email": "***", "id": 2}' in dry.stdout and "bob@example.com" not in dry.stdout

    run = etl_cli("run", "p", cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    assert "@example.com" not in run.stdout + run.stderr
    results = next((tmp_path / "state").rglob("latest.json"))
    text = results.read_text()
    assert "bob@example.com" not in text
    (check,) = [c for c in json.loads(text)["quality"]["checks"] if c["name"] == "known_city"]
    assert [(s["id"], s["email"], s["city"]) for s in check["samples"]] == [(2, "***", "Rome")]
    written = [json.loads(line) for f in sorted((tmp_path / "out").glob("*.json")) for line in f.read_text().split()]
    assert sorted(r["email"] for r in written) == sorted(
        hmac_hex(KEY, e) for e in ("ann@example.com", "cid@example.com")
    )

    letters = etl_cli("dlq", "show", "p", "--format", "json", cwd=tmp_path, env=env)
    assert letters.returncode == 0, letters.stderr
    assert "bob@example.com" not in letters.stdout
    (letter,) = [json.loads(line) for line in letters.stdout.splitlines()]
    assert json.loads(letter["row"]) == {"id": 2, "email": "***", "city": "Rome"}
