"""What ``extends:`` reports and binds (etl_cli/config/templates.py ``TemplateResolver``: ``expand``,
``_parse_extends``, ``_bind_params``, ``_check_param_keys``, ``_layer``, ``_find``, ``_known_hint``; and ``_read_names``
through ``drop_unread_library_sources``), pinned where mutation testing found it loose. The resolver runs in-process
on a temporary templates folder.

Each problem is checked whole (code, message, place, hint): an ``extends`` naming no template, listing none (the
pipeline then stays as written) or with an unknown key, a ``!delete`` in a later template or in the pipeline of a key
no layer beneath sets, ``params`` that are not a mapping, a required parameter not given, a parameter the template does
not take, a key a parameter's declaration does not take (with every key it does), a loop, a chain too deep, a template
that is not a mapping or has a wrong ``library`` flag, a name that is not a template name, is not found (with every
template there is, or no hint when there is none) or links out of the templates folder. Bound parameters become the
``vars`` of the lowest layer, located at the ``extends`` (a default's key in the template); an optional parameter
without a default binds nothing, a parameter declared with no settings is required, and a template without parameters
adds no ``vars``. A library template keeps the sources a transform, a sink or a check reads; only named mappings
written in a library's file drop out (a source written elsewhere, one without a name, an item that is not a mapping
stay, in their order), nothing drops out when no template is a library, and a document without a list of sources comes
back as it was. A document that is not a mapping has no ``extends`` and comes back as it is.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from etl_cli.config.limits import MAX_TEMPLATE_DEPTH, LimitExceeded
from etl_cli.config.nodes import Node, to_plain
from etl_cli.config.templates import TemplateResolver, drop_unread_library_sources
from etl_cli.config.yaml_loader import display_path, load_yaml_text
from etl_cli.diagnostics import Diagnostic, error
from etl_cli.errors import Location

from .helpers import column, write

FORMS = "write 'extends: NAME', 'extends: {template: NAME, params: {...}}' or a list of these"

BASE = """\
params:
  input_path: {description: CSV to read, required: true}
  mode: {required: false}
  out_dir: {default: /tmp/out}
sources:
  - {name: src, type: csv, path: "${var:input_path}"}
"""

PLAIN = "spark:\n  master: local[1]\n"


class Templates:
    """A templates folder in a temporary directory, and what expanding a pipeline over it gives."""

    def __init__(self, root: Path, templates: dict[str, str]):
        self.folder = root / "templates"
        self.folder.mkdir()
        for name, text in templates.items():
            write(self.folder, f"{name}.yaml", text)
        self.problems: list[Diagnostic] = []
        self.resolver = TemplateResolver([self.folder], self.problems)

    def expand(self, pipeline: str) -> Node:
        return self.resolver.expand(load_yaml_text(pipeline, "pipeline.yaml"))

    def at(self, name: str, line: int, col: int) -> Location:
        """A place in template ``name``, as messages name its file."""
        return Location(display_path(self.folder / f"{name}.yaml"), line, col)


def in_pipeline(pipeline: str, token: str, line: int = 1) -> Location:
    return Location("pipeline.yaml", line, column(pipeline.splitlines()[line - 1], token))


@pytest.fixture
def templates(tmp_path: Path) -> Templates:
    return Templates(tmp_path, {"base": BASE, "plain": PLAIN})


# --------------------------------------------------------------------------- the extends entry itself


@pytest.mark.parametrize("extends", ["{params: {input_path: a}}", "{template: 5}", "5", "[[base]]"])
def test_an_extends_that_names_no_template_is_an_error_at_it(templates: Templates, extends: str) -> None:
    pipeline = f"name: p\nextends: {extends}\n"
    document, _ = to_plain(templates.expand(pipeline))
    at = in_pipeline(pipeline, extends[1:] if extends.startswith("[") else extends, line=2)
    assert templates.problems == [error("extends-invalid", "extends must name a template", at, FORMS)]
    assert document == {"name": "p"}


def test_an_empty_list_of_templates_is_an_error_at_it_and_the_pipeline_stays_as_written(templates: Templates) -> None:
    pipeline = "name: p\nextends: []\n"
    document, _ = to_plain(templates.expand(pipeline))
    assert templates.problems == [
        error("extends-invalid", "extends lists no template", in_pipeline(pipeline, "[]", line=2), FORMS)
    ]
    assert document == {"name": "p"}


@pytest.mark.parametrize("text", ["- extends\n- base\n", "extends\n"], ids=["a-list", "a-text"])
def test_a_document_that_is_not_a_mapping_has_no_extends_and_comes_back_as_it_is(
    templates: Templates, text: str
) -> None:
    doc = load_yaml_text(text, "pipeline.yaml")
    assert templates.resolver.expand(doc) is doc
    assert templates.problems == []


def test_each_unknown_key_of_extends_is_reported_at_the_key_with_the_key_it_may_mean(templates: Templates) -> None:
    pipeline = "extends: {template: plain, tags: [a], tempalte: base, parms: {}}\n"
    document, _ = to_plain(templates.expand(pipeline))
    assert templates.problems == [
        error(
            "unknown-key", "unknown key 'parms' in extends", in_pipeline(pipeline, "parms"), "did you mean 'params'?"
        ),
        error("unknown-key", "unknown key 'tags' in extends", in_pipeline(pipeline, "tags"), None),
        error(
            "unknown-key",
            "unknown key 'tempalte' in extends",
            in_pipeline(pipeline, "tempalte"),
            "did you mean 'template'?",
        ),
    ]
    assert document == {"spark": {"master": "local[1]"}}


def test_params_that_are_not_a_mapping_are_an_error_at_them(templates: Templates) -> None:
    pipeline = "extends: {template: plain, params: [a]}\n"
    templates.expand(pipeline)
    assert templates.problems == [
        error("extends-invalid", "extends.params must be a mapping", in_pipeline(pipeline, "[a]"))
    ]


# --------------------------------------------------------------------------- binding the parameters


def test_a_required_parameter_not_given_is_reported_and_the_others_bind_or_are_left_out(templates: Templates) -> None:
    """``mode`` (optional, no default) binds nothing and does not stop ``out_dir`` after it taking its default."""
    tree = templates.expand("extends: base\n")
    document, provenance = to_plain(tree)
    at_extends = Location("pipeline.yaml", 1, 10)
    assert templates.problems == [
        error(
            "template-param",
            "template 'base' needs parameter 'input_path'",
            at_extends,
            "add it under extends.params: input_path: ...",
        )
    ]
    assert templates.resolver.missing_params == {"input_path"}
    assert document["vars"] == {"out_dir": "/tmp/out"}
    assert provenance.value_location(("vars",)) == at_extends
    assert provenance.key_location(("vars", "out_dir")) == templates.at("base", 4, 3)


@pytest.mark.parametrize(
    ("template", "given", "hint"),
    [
        ("base", "{input_path: a, colour: red}", "'base' takes: input_path, mode, out_dir"),
        ("plain", "{colour: red}", "'plain' takes no parameters"),
    ],
)
def test_a_parameter_the_template_does_not_take_is_reported_with_those_it_takes(
    templates: Templates, template: str, given: str, hint: str
) -> None:
    pipeline = f"extends: {{template: {template}, params: {given}}}\n"
    templates.expand(pipeline)
    assert templates.problems == [
        error(
            "template-param", f"template '{template}' has no parameter 'colour'", in_pipeline(pipeline, "colour"), hint
        )
    ]


def test_a_key_a_parameter_declaration_does_not_take_is_reported_in_the_template_with_every_key_it_does(
    tmp_path: Path,
) -> None:
    odd = Templates(tmp_path, {"odd": "params:\n  zone: {colour: red, default: a}\n"})
    document, _ = to_plain(odd.expand("extends: odd\n"))
    assert odd.problems == [
        error(
            "template-param",
            "parameter 'zone' of template 'odd' has no key 'colour'",
            odd.at("odd", 2, 10),
            "a parameter takes: description, default, required, example",
        )
    ]
    assert document == {"vars": {"zone": "a"}}


def test_a_parameter_declared_with_no_settings_is_required_and_binds_what_is_given(tmp_path: Path) -> None:
    bare = Templates(tmp_path, {"bare": "params:\n  region:\n"})
    document, _ = to_plain(bare.expand("extends: {template: bare, params: {region: eu}}\n"))
    assert bare.problems == []
    assert document == {"vars": {"region": "eu"}}


def test_a_value_written_in_place_of_a_parameter_s_settings_is_reported_not_taken_as_required(tmp_path: Path) -> None:
    valued = Templates(tmp_path, {"valued": "params:\n  zone: eu-1\n"})
    document, _ = to_plain(valued.expand("extends: {template: valued, params: {zone: us-2}}\n"))
    assert valued.problems == [
        error(
            "template-param",
            "parameter 'zone' of template 'valued' is declared as a value, not as its settings",
            valued.at("valued", 2, 9),
            "write zone: {default: ...} for a default, or zone: with nothing after it for a parameter the "
            "pipeline must give",
        )
    ]
    assert document == {"vars": {"zone": "us-2"}}


def test_a_template_without_parameters_adds_no_vars(templates: Templates) -> None:
    document, _ = to_plain(templates.expand("name: p\nextends: plain\n"))
    assert templates.problems == []
    assert document == {"spark": {"master": "local[1]"}, "name": "p"}


def test_a_parameter_given_as_delete_that_deletes_no_var_of_the_template_is_reported(tmp_path: Path) -> None:
    regional = Templates(tmp_path, {"regional": "params:\n  zone: {required: false}\nvars: {region: eu}\n"})
    pipeline = "extends:\n  template: regional\n  params:\n    zone: !delete\n"
    document, _ = to_plain(regional.expand(pipeline))
    at_zone = in_pipeline(pipeline, "zone", line=4)
    assert regional.problems == [error("overlay-delete", "!delete of 'zone', which is not set", at_zone)]
    assert document == {"vars": {"region": "eu"}}


def test_a_delete_with_nothing_beneath_it_in_a_later_template_or_the_pipeline_is_reported_where_it_is_written(
    tmp_path: Path,
) -> None:
    """Each template of a list merges over those before it, the pipeline over them all: a ``!delete`` of a key no
    layer beneath sets is reported at its key, and what it deletes from a lower layer is gone."""
    layered = Templates(
        tmp_path,
        {"first": "vars: {a: 1, b: 2}\n", "second": "vars:\n  a: !delete\n  zz: !delete\n  c: 3\n"},
    )
    pipeline = "extends: [first, second]\nvars:\n  b: !delete\n  yy: !delete\n"
    document, _ = to_plain(layered.expand(pipeline))
    assert layered.problems == [
        error("overlay-delete", "!delete of 'zz', which is not set", layered.at("second", 3, 3)),
        error("overlay-delete", "!delete of 'yy', which is not set", in_pipeline(pipeline, "yy", line=4)),
    ]
    assert document == {"vars": {"c": 3}}


# --------------------------------------------------------------------------- the template named


def test_templates_extending_each_other_in_a_loop_are_reported_at_the_extends_that_closes_it(tmp_path: Path) -> None:
    looped = Templates(tmp_path, {"a": "extends: b\n", "b": "extends: a\n"})
    looped.expand("extends: a\n")
    assert looped.problems == [
        error("template-cycle", "templates extend each other in a loop: a -> b -> a", looped.at("b", 1, 10))
    ]


def test_a_chain_of_templates_deeper_than_the_limit_stops_at_the_extends_going_over(tmp_path: Path) -> None:
    names = [f"t{i}" for i in range(MAX_TEMPLATE_DEPTH + 1)]
    chain = Templates(tmp_path, {name: f"extends: {after}\n" for name, after in itertools.pairwise(names)})
    with pytest.raises(LimitExceeded) as stopped:
        chain.expand("extends: t0\n")
    assert stopped.value.diagnostic == error(
        "template-depth",
        f"templates extend more than {MAX_TEMPLATE_DEPTH} levels deep: {' -> '.join(names)}",
        chain.at(names[-2], 1, 10),
        "let a template carry more of the pipeline instead of extending one more template",
    )


def test_a_template_that_is_not_a_mapping_is_an_error_at_its_first_line(tmp_path: Path) -> None:
    listed = Templates(tmp_path, {"listed": "- a\n- b\n"})
    document, _ = to_plain(listed.expand("name: p\nextends: listed\n"))
    assert listed.problems == [
        error("template-invalid", "template 'listed' must be a mapping", listed.at("listed", 1, 1))
    ]
    assert document == {"name": "p"}


def test_a_library_flag_that_is_not_a_boolean_names_the_template(tmp_path: Path) -> None:
    schemas = Templates(tmp_path, {"schemas": "library: maybe\n"})
    schemas.expand("extends: schemas\n")
    assert schemas.problems == [
        error(
            "template-invalid",
            "library of template 'schemas' must be true or false",
            schemas.at("schemas", 1, 10),
            "library: true makes the sources the pipeline does not read drop out instead of warning",
        )
    ]


def test_a_name_that_is_not_a_template_name_is_refused_with_the_one_it_may_mean(templates: Templates) -> None:
    templates.expand("extends: ../base\n")
    assert templates.problems == [
        error(
            "template-name",
            "'../base' is not a template name: name a file below the templates folder, without '..'",
            Location("pipeline.yaml", 1, 10),
            "did you mean 'base'?",
        )
    ]


def test_a_template_not_found_names_every_folder_looked_in(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    templates = Templates(tmp_path, {"base": BASE})
    templates.resolver.template_dirs.append(shared)
    templates.expand("extends: nothere\n")
    assert templates.problems == [
        error(
            "template-not-found",
            f"template 'nothere' not found (looked in {templates.folder}, {shared})",
            Location("pipeline.yaml", 1, 10),
            "available templates: base",
        )
    ]


@pytest.mark.parametrize(
    ("present", "hint"), [({}, None), ({"base": BASE, "plain": PLAIN}, "available templates: base, plain")]
)
def test_a_template_not_found_is_told_every_template_there_is_or_no_hint_when_there_is_none(
    tmp_path: Path, present: dict[str, str], hint: str | None
) -> None:
    templates = Templates(tmp_path, present)
    templates.expand("extends: nothere\n")
    assert templates.problems == [
        error(
            "template-not-found",
            f"template 'nothere' not found (looked in {templates.folder})",
            Location("pipeline.yaml", 1, 10),
            hint,
        )
    ]


def test_a_template_linking_out_of_the_templates_folder_is_refused(templates: Templates, tmp_path: Path) -> None:
    outside = write(tmp_path, "elsewhere/evil.yaml", PLAIN)
    (templates.folder / "evil.yaml").symlink_to(outside)
    document, _ = to_plain(templates.expand("name: p\nextends: evil\n"))
    assert templates.problems == [
        error(
            "template-name",
            f"template 'evil' links to {outside.resolve()}, outside the templates folder",
            Location("pipeline.yaml", 2, 10),
            "copy the template into the templates folder instead of linking to it",
        )
    ]
    assert document == {"name": "p"}


# --------------------------------------------------------------------------- which library sources are read

LIBRARY = """\
sources:
  - {name: a, type: csv, path: a.csv}
  - {name: b, type: csv, path: b.csv}
  - {name: c, type: csv, path: c.csv}
  - {name: d, type: csv, path: d.csv}
  - {name: e, type: csv, path: e.csv}
transforms:
  - {name: joined, type: sql, inputs: [a, b], query: select 1}
sinks:
  - {name: out, type: json, input: c, path: out}
  - {name: odd, type: json, input: {stage: e}, path: odd}
checks:
  - {name: same_rows, type: row_count, to: d}
"""


def test_a_library_keeps_the_sources_transforms_sinks_and_checks_read_and_only_those() -> None:
    """``e`` is named only inside a mapping where a sink's input should be: not a read, and no crash."""
    tree = drop_unread_library_sources(load_yaml_text(LIBRARY, "library.yaml"), {"library.yaml"})
    assert [source["name"] for source in to_plain(tree)[0]["sources"]] == ["a", "b", "c", "d"]


MIXED = """\
sources:
  - {name: read, type: csv, path: r.csv}
  - {name: unread, type: csv, path: u.csv}
  - {type: csv, path: nameless.csv}
  - just_text
  - {name: last, type: csv, path: l.csv}
sinks:
  - {name: out, type: json, input: read, path: o}
"""


@pytest.mark.parametrize(
    ("library_files", "kept"),
    [
        pytest.param({"library.yaml"}, ["read", "nameless.csv", "just_text"], id="written-in-a-library"),
        pytest.param({"other.yaml"}, ["read", "unread", "nameless.csv", "just_text", "last"], id="written-elsewhere"),
        pytest.param(set(), ["read", "unread", "nameless.csv", "just_text", "last"], id="no-library-at-all"),
    ],
)
def test_only_the_unread_named_sources_a_library_writes_drop_out(library_files: set[str], kept: list[str]) -> None:
    tree = load_yaml_text(MIXED, "library.yaml")
    dropped = drop_unread_library_sources(tree, library_files)
    assert dropped is tree
    document, _ = to_plain(dropped)
    sources = document["sources"]
    assert [s if isinstance(s, str) else s.get("name", s["path"]) for s in sources] == kept
    assert document["sinks"] == [{"name": "out", "type": "json", "input": "read", "path": "o"}]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("sinks:\n  - {name: out, type: json, input: a, path: o}\n", id="no-sources"),
        pytest.param("sources: {name: a, type: csv}\nsinks: []\n", id="sources-not-a-list"),
        pytest.param("sources: csv\n", id="sources-a-text"),
    ],
)
def test_a_document_without_a_list_of_sources_comes_back_as_it_was(text: str) -> None:
    tree = load_yaml_text(text, "library.yaml")
    before, _ = to_plain(load_yaml_text(text, "library.yaml"))
    dropped = drop_unread_library_sources(tree, {"library.yaml"})
    assert dropped is tree
    assert to_plain(dropped)[0] == before
