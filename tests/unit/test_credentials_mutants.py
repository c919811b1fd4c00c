"""Where a secret reference is reported, and the names a literal credential's hint suggests: found untested by
mutation testing (mutmut) of etl_cli/model/credentials.py (``reference_location`` and ``_suggested_names``).

``reference_location`` (used by the secret-placement rule and ``etl-cli secrets list``) is pinned on the pipeline as
written: the reference's own line and column when the value's text holds it (on the value's first line, from the
value's start; on a later line, from the line's first column), the first of two, and the value's own place when the
reference came from a var, however close the var's text or another value holding the same reference is written;
the file is read as UTF-8 whatever the locale. The literal-credential hint is pinned in full: the secret path
``pipeline/stage`` (``pipeline`` for a pipeline without a name, the pipeline alone outside stages or for a stage
whose name is not text) and the environment variable made of the stage's name and the key's last three words; in
``spark.conf`` the secret's field is those words too, and outside protected environments the warning keeps the
hint. A ``${secret:...}`` value is no literal even where no provenance marks it; the secret-placement error is
pinned word for word. ``secret_allowed`` (where a reference is resolved at run time) is pinned where the rest of the
suite leaves it loose: a tracing header but not the endpoint nor the headers written as one text, a lineage
transport's url and auth but not its type nor the namespace, no place for the document root nor for a stage whose type
is not text. Expected places are counted by hand from the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etl_cli.config.loader import LoadedConfig, load_pipeline
from etl_cli.config.nodes import NodeInfo, Provenance
from etl_cli.diagnostics import error, warning
from etl_cli.errors import Location
from etl_cli.model.credentials import (
    ALLOWED_PLACES,
    check_literal_credentials,
    check_secret_placement,
    reference_location,
    secret_allowed,
)

from .helpers import ascii_locale, write

REF = "${secret:env:TOKEN}"


def load(root: Path, body: str) -> LoadedConfig:
    write(root, "p/pipeline.yaml", body)
    return load_pipeline(root / "p", None, environ={})


def located(root: Path, body: str, *path: str | int) -> tuple[int, int]:
    """(line, column) where ``reference_location`` puts ``REF`` in the value at ``path`` of the pipeline ``body``."""
    loaded = load(root, body)
    where = reference_location(loaded.provenance, path, REF)
    assert where is not None and where.file == str(root / "p" / "pipeline.yaml")
    return where.line, where.column


# --------------------------------------------------------------------------- reference_location


def test_a_reference_opening_a_quoted_value_on_the_first_line_is_placed_after_the_quote(tmp_path: Path) -> None:
    assert located(tmp_path, f'path: "{REF}/orders.csv"\n', "path") == (1, 8)


def test_the_first_of_two_references_in_one_value_is_the_place(tmp_path: Path) -> None:
    assert located(tmp_path, f'x: 1\npath: "{REF}/{REF}"\n', "path") == (2, 8)


def test_on_the_values_first_line_the_search_starts_at_the_value_not_at_an_earlier_value(tmp_path: Path) -> None:
    # path's value (its quote) starts at column 45: the reference written before it, in user's, is not the place
    body = f'source: {{user: "{REF}", path: "in/{REF}"}}\n'
    assert located(tmp_path, body, "source", "path") == (1, 49)


def test_on_a_later_line_of_the_value_the_reference_is_found_left_of_where_the_value_starts(tmp_path: Path) -> None:
    # the block scalar starts at column 8 (its '|'); the reference on its second line is at column 3
    assert located(tmp_path, f"query: |\n  SELECT 1\n  {REF}\nnext: 1\n", "query") == (3, 3)


def test_a_reference_at_the_first_column_of_a_later_line_is_found(tmp_path: Path) -> None:
    assert located(tmp_path, f'x: "a\n{REF}"\ny: 1\n', "x") == (2, 1)


def test_a_reference_from_a_var_is_placed_at_the_value_not_at_the_same_reference_on_its_line(tmp_path: Path) -> None:
    body = f'vars:\n  t: "{REF}"\nsource: {{path: "d/${{var:t}}", user: "{REF}"}}\n'
    loaded = load(tmp_path, body)
    assert loaded.document["source"] == {"path": f"d/{REF}", "user": REF}
    assert located(tmp_path, body, "source", "path") == (3, 16)


def test_a_reference_from_a_var_declared_after_the_value_is_placed_at_the_value(tmp_path: Path) -> None:
    # the search stops where the next key starts (line 2): the var's text on line 3 is another value
    body = f'path: "d/${{var:t}}"\nvars:\n  t: "{REF}"\n'
    assert located(tmp_path, body, "path") == (1, 7)


def test_a_value_without_a_place_has_none() -> None:
    assert reference_location(Provenance(), ("path",), REF) is None


def test_a_location_without_a_line_is_returned_without_reading_its_file(tmp_path: Path) -> None:
    # line 0: the whole file or the command line (--set, --param), never a place in the file's text
    file = write(tmp_path, "p/pipeline.yaml", f'path: "{REF}"\n')
    whole_file = Location(str(file), 0, 0)
    provenance = Provenance({(): NodeInfo(whole_file, None, None, False)})
    assert reference_location(provenance, ("path",), REF) == whole_file


# --------------------------------------------------------------------------- the literal-credential hint


def hints(root: Path, body: str) -> dict[str, str | None]:
    """Each literal credential's message and hint (protected: errors)."""
    loaded = load(root, body)
    return {d.message: d.hint for d in check_literal_credentials(loaded.document, loaded.provenance, True)}


def hint(key: str, entry: str, variable: str) -> str:
    """The hint for a stage or var ``key``: the secret ``entry#key`` and the environment ``variable``."""
    return (
        f'write {key}: "${{secret:vault:{entry}#{key}}}" (or "${{env:{variable}}}") and keep the value in a '
        f"secret store, e.g. etl-cli secrets set keyring:{entry}#{key}"
    )


def test_a_stage_key_of_a_pipeline_without_a_name_suggests_pipeline_slash_stage(tmp_path: Path) -> None:
    body = "sources:\n  - name: db\n    type: jdbc\n    password: hunter2\n"
    assert hints(tmp_path, body) == {
        "sources.db.password is a credential written as plain text": hint("password", "pipeline/db", "DB_PASSWORD")
    }


def test_a_var_suggests_the_pipeline_alone_and_the_keys_words(tmp_path: Path) -> None:
    body = "name: orders\nvars:\n  db_password: hunter2\n"
    assert hints(tmp_path, body) == {
        "vars.db_password is a credential written as plain text": hint("db_password", "orders", "DB_PASSWORD")
    }


def test_a_stage_whose_name_is_not_text_suggests_the_pipeline_alone(tmp_path: Path) -> None:
    body = "name: orders\nsources:\n  - name: 42\n    type: jdbc\n    password: hunter2\n"
    assert list(hints(tmp_path, body).values()) == [hint("password", "orders", "PASSWORD")]


def test_the_variable_takes_the_stage_name_and_the_last_three_words_of_the_key(tmp_path: Path) -> None:
    body = "name: orders\nsources:\n  - name: s3_in\n    type: csv\n    options:\n      aws_secret_access_key: k\n"
    assert list(hints(tmp_path, body).values()) == [
        hint("aws_secret_access_key", "orders/s3_in", "S3_IN_SECRET_ACCESS_KEY")
    ]


def test_a_spark_conf_literal_is_a_warning_outside_protected_environments_hinting_a_field_of_the_keys_words(
    tmp_path: Path,
) -> None:
    # in spark.conf the secret's field is the key's last three words (the key itself is no field name)
    loaded = load(tmp_path, "name: orders\nspark:\n  conf:\n    spark.hadoop.fs.s3a.secret.key: k\n")
    assert check_literal_credentials(loaded.document, loaded.provenance, False) == [
        warning(
            "literal-credential",
            "spark.conf.spark.hadoop.fs.s3a.secret.key is a credential written as plain text (an error in protected "
            "environments)",
            Location(str(tmp_path / "p" / "pipeline.yaml"), 4, 37),
            'write spark.hadoop.fs.s3a.secret.key: "${secret:vault:orders#s3a_secret_key}" (or '
            '"${env:S3A_SECRET_KEY}") and keep the value in a secret store, e.g. etl-cli secrets set '
            "keyring:orders#s3a_secret_key",
        )
    ]


@pytest.mark.parametrize("block", ["metrics", "dead_letter", "lineage"])
def test_a_literal_credential_in_a_top_level_block_is_found_at_its_place(tmp_path: Path, block: str) -> None:
    loaded = load(tmp_path, f"name: orders\n{block}:\n  options:\n    password: hunter2\n")
    assert [(d.message, d.location) for d in check_literal_credentials(loaded.document, loaded.provenance, True)] == [
        (
            f"{block}.options.password is a credential written as plain text",
            Location(str(tmp_path / "p" / "pipeline.yaml"), 4, 15),
        )
    ]


def test_a_secret_reference_is_no_literal_even_without_an_interpolation_mark() -> None:
    # a document built in code: no provenance marks which values were references
    document = {"sources": [{"name": "db", "type": "jdbc", "password": "${secret:vault:db#password}", "token": "t"}]}
    found = check_literal_credentials(document, Provenance(), True)
    assert [d.message for d in found] == ["sources.db.token is a credential written as plain text"]


# --------------------------------------------------------------------------- the secret-placement error


def test_a_misplaced_reference_is_an_error_saying_where_references_are_resolved(tmp_path: Path) -> None:
    loaded = load(tmp_path, f'sources:\n  - {{name: raw, type: csv, path: "d/{REF}/x.csv"}}\n')
    assert check_secret_placement(loaded.document, loaded.provenance) == [
        error(
            "secret-placement",
            f"sources.raw.path holds the secret reference {REF}, but secrets are resolved only in connection "
            "settings: here it would stay text and flow into the data",
            Location(str(tmp_path / "p" / "pipeline.yaml"), 2, 37),
            f"secret references are allowed in: {ALLOWED_PLACES}",
        )
    ]


def test_the_pipeline_is_read_as_utf8_to_place_a_reference_whatever_the_locale(tmp_path: Path) -> None:
    with ascii_locale():
        place = located(tmp_path, f'note: "für"\npath: "d/{REF}"\n', "path")
    assert place == (2, 10)


# --------------------------------------------------------------------------- where a reference is resolved

HTTP_LINEAGE = {"transport": {"type": "http", "url": "u", "auth": {"api_key": "k"}}}


@pytest.mark.parametrize(
    ("document", "path", "allowed"),
    [
        ({}, (), False),
        ({"tracing": {"endpoint": "e"}}, ("tracing", "endpoint"), False),
        ({"tracing": {"headers": "h"}}, ("tracing", "headers"), False),
        ({"tracing": {"headers": {"Authorization": "a"}}}, ("tracing", "headers", "Authorization"), True),
        ({"lineage": HTTP_LINEAGE}, ("lineage", "transport", "url"), True),
        ({"lineage": HTTP_LINEAGE}, ("lineage", "transport", "auth", "api_key"), True),
        ({"lineage": HTTP_LINEAGE}, ("lineage", "transport", "type"), False),
        ({"lineage": {"namespace": "n"}}, ("lineage", "namespace"), False),
        ({"sources": [{"name": "db", "type": ["jdbc"], "password": "p"}]}, ("sources", 0, "password"), False),
    ],
    ids=[
        "document-root",
        "tracing-endpoint",
        "tracing-headers-as-text",
        "tracing-header",
        "lineage-url",
        "lineage-auth",
        "lineage-type",
        "lineage-namespace",
        "type-not-text",
    ],
)
def test_a_reference_is_resolved_only_in_a_tracing_header_or_a_lineage_transport_s_connection_settings(
    document: dict[str, Any], path: tuple[str | int, ...], allowed: bool
) -> None:
    assert secret_allowed(document, path) is allowed
