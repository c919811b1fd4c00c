"""The wizard's conversation: which questions, in which order, and the draft they add up to.

name → template (or source type and its fields) → transformations → data-quality checks
→ sink (type, fields, mode, upsert keys) → a first test. Only the chosen parts are asked about.
Credentials are never kept as typed: the draft holds a reference (keyring or environment
variable) and remembers the value only to store it in the keyring when asked.

Path questions say which folder relative paths start at (the loader's rule, :mod:`.paths`)
and warn when an input is not there; column questions offer the columns of the stage they
are about (:mod:`.columns`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from etl_cli.authoring.columns import Columns, columns_after, source_columns
from etl_cli.authoring.connectors import (
    ASKED,
    CONNECTION_STRINGS,
    FOLLOW_UPS,
    MODE_AFTER,
    NO_VARIANT,
    VARIANTS,
    Field,
    is_secret_field,
    password_problem,
    path_problem,
    store_block,
    variant_schema,
)
from etl_cli.authoring.first_test import first_test_text
from etl_cli.authoring.paths import PathRoot
from etl_cli.authoring.questions import Answers, Choice, Question, option_question, yes_no
from etl_cli.authoring.recipes import RECIPES, recipe
from etl_cli.authoring.templates import TemplateInfo, TemplateParam, option_schema
from etl_cli.model.credentials import is_credential_key
from etl_cli.plugins.api import Kind, Sink
from etl_cli.plugins.quality.base import Check
from etl_cli.plugins.registry import Registry

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
NO_TEMPLATE = "none"
#: the sink modes every file sink has; any other mode (upsert, merge) writes by key
PLAIN_MODES = {"overwrite", "append", "error", "ignore"}
#: what to connect to and as whom, asked even where a plug-in has alternatives and does not require them
#: (a JDBC table or query, a Kafka topic or pattern); credentials are asked too, at a hidden prompt
CONNECTION_KEYS = ("table", "topic", "user", "username")
#: options that say where data goes: the production overlay reads them from the environment
TARGET_KEYS = ("path", "url", "table", "dbtable", "topic", "bootstrap_servers", "bucket")
#: options that name columns of the stage they apply to: their questions offer its columns
COLUMN_KEYS = ("column", "columns", "keys", "partition_by", "expression")


@dataclass(frozen=True)
class SecretField:
    """A credential the wizard was given: the reference written instead, and how to provide the value."""

    field: str
    store: str
    reference: str
    address: str
    value: str | None = None


@dataclass
class Draft:
    """Everything the answers decided, ready to be written."""

    name: str
    description: str | None = None
    template: TemplateInfo | None = None
    params: dict[str, Any] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    transforms: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    sinks: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[SecretField] = field(default_factory=list)
    store_secrets: bool = False
    #: production overlay entries: (section, item name or None for vars, key) → value written in dev
    targets: dict[tuple[str, str | None, str], Any] = field(default_factory=dict)
    #: the text of ``tests/<name>.yaml`` when a first test was asked for (and the input's columns are known)
    first_test: str | None = None
    #: keys added to a template's stages, by (section, stage name): an object store's settings block
    stage_settings: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


@dataclass
class Interview:
    """Asks the questions through ``answers`` and builds the :class:`Draft`."""

    answers: Answers
    registry: Registry
    templates: list[TemplateInfo]
    pipelines_dir: Path
    force: bool = False
    checks_available: bool = False
    #: the project's Iceberg catalogs (``catalogs:`` of type iceberg), offered where a stage names one
    table_catalogs: tuple[str, ...] = ()
    draft: Draft = field(default_factory=lambda: Draft(""))
    _secret_store: str | None = None
    #: where the pipeline's relative paths will start, known once it has a name
    _root: PathRoot | None = None
    #: the columns of each stage so far, by stage name (empty: unknown)
    _columns: dict[str, Columns] = field(default_factory=dict)

    def run(self) -> Draft:
        self.draft.name = self.ask(Question("name", "Pipeline name", check=self._name_problem)) or "pipeline"
        self._root = PathRoot.of(self.pipelines_dir / self.draft.name)
        self.draft.description = self.ask(Question("description", "What does it do? (one line)", required=False))
        chosen = self._template()
        previous = self._from_template(chosen) if chosen else self._source("source", "input")
        previous = self._transforms(previous)
        if self.checks_available:
            self._checks(previous)
        if chosen:
            self._template_sink(chosen, previous)
        else:
            self._sink(previous)
        self._first_test(chosen)
        if any(s.value for s in self.draft.secrets) and self._secret_store == "keyring":
            self.draft.store_secrets = bool(
                self.ask(
                    Question("secrets.save", "Store the typed values in the keyring now?", "confirm", default=True)
                )
            )
        return self.draft

    def ask(self, question: Question) -> Any:
        return self.answers.ask(question)

    @property
    def root(self) -> PathRoot:
        assert self._root is not None, "the name is asked first"
        return self._root

    def _placed(self, question: Question, kind: str, option: str) -> Question:
        """A path question says where relative paths start; an input's warns when it is not there."""
        if option != "path":
            return question
        more = "; ".join(filter(None, [question.help, self.root.describe()]))
        return replace(question, help=more, warning=self.root.missing_input if kind == "source" else None)

    def _about_columns(self, question: Question, option: str, stage: str) -> Question:
        """A question naming columns of ``stage`` offers them for completion."""
        return replace(question, suggestions=self._columns.get(stage, ())) if option in COLUMN_KEYS else question

    def _name_problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or not NAME_PATTERN.match(value):
            return "use letters, digits, '_', '-' and '.', starting with a letter, digit or '_'"
        if (self.pipelines_dir / value).exists() and not self.force:
            return f"{self.pipelines_dir / value} exists; choose another name or pass --force to replace it"
        return None

    # -- template or source

    def _template(self) -> TemplateInfo | None:
        choices = [Choice(t.name, f"{t.name}: {t.description}") for t in self.templates]
        choices.append(Choice(NO_TEMPLATE, f"{NO_TEMPLATE}: choose the source and sink types yourself"))
        default = self.templates[0].name if self.templates else NO_TEMPLATE
        name = self.ask(Question("template", "Start from template", "select", tuple(choices), default))
        return next((t for t in self.templates if t.name == name), None)

    def _from_template(self, template: TemplateInfo) -> str:
        self.draft.template = template
        for param in template.params:
            value = self._param(param)
            if value is not None:
                self.draft.params[param.name] = value
        (source,) = template.stage_names["sources"][:1] or ("input",)
        item = template.bound_source(source, self.draft.params)
        self._columns[source] = source_columns(str(item.get("type")), item, self.root.folder)
        return source

    def _param(self, param: TemplateParam) -> Any:
        key = f"params.{param.name}"
        if is_credential_key(param.name) or (param.use and is_credential_key(param.use.key)):
            return self._secret(key, param.name, param.description)
        schema = dict(option_schema(self.registry, param.use)) if param.use else {}
        schema["description"] = param.description
        default = param.default
        if default is None and param.use and param.use.kind == "sink" and param.use.key == "path":
            default = f"output/{self.draft.name}"
        question = option_question(key, param.name, schema, param.required and default is None, default)
        question = replace(question, example=param.example)
        if param.use and param.use.key == "path":
            question = replace(question, check=_both(question.check, path_problem))
        value = self.ask(self._placed(question, param.use.kind, param.use.key) if param.use else question)
        if param.use and param.use.kind == "sink" and param.use.key in TARGET_KEYS and value is not None:
            self.draft.targets[("vars", None, param.name)] = value
        if param.use and param.use.key == "path" and param.use.stage_name:
            self._template_store(param.use.kind, param.use.stage_name, param.use.stage_keys, value)
        return value

    def _template_store(self, kind: Kind, stage_name: str, written: frozenset[str], path: Any) -> None:
        """The settings block of the store a template's path is on, unless the template writes it."""
        block = store_block(path)
        if block is None or block[0] in written:
            return
        prefix = "source" if kind == "source" else "sink"
        settings = self._block(prefix, block[0], block[1], {}, stage_name)
        if settings:
            section = "sources" if kind == "source" else "sinks"
            self.draft.stage_settings.setdefault((section, stage_name), {})[block[0]] = settings

    def _source(self, prefix: str, name: str) -> str:
        types = self.registry.types("source")
        default = "csv" if "csv" in types else types[0]
        type_name = self.ask(Question(f"{prefix}.type", "Source type", "select", _choices(types), default))
        stage: dict[str, Any] = {"name": name, "type": type_name or default}
        stage.update(self._options(prefix, "source", stage["type"], name))
        self.draft.sources.append(stage)
        self._columns[name] = source_columns(stage["type"], stage, self.root.folder)
        return name

    def _options(self, prefix: str, kind: Kind, type_name: str, stage_name: str) -> dict[str, Any]:
        """The required options, the optional connection ones (user, password, token...), then the ones the
        connector's recipe asks (:mod:`.connectors`: a REST source's pages and auth, an object store's settings)."""
        plugin = self.registry.get(kind, type_name)
        optional = [o for o in plugin.options_schema if o in CONNECTION_KEYS or is_credential_key(o)]
        recipe = [o for o in ASKED.get((kind, type_name), ()) if o in plugin.options_schema]
        found: dict[str, Any] = {}
        queue = list(dict.fromkeys([*plugin.required_options, *optional, *recipe]))
        asked: set[str] = set()
        while queue:
            option = queue.pop(0)
            if option in asked:
                continue
            asked.add(option)
            required = option in plugin.required_options
            value = self._option(prefix, kind, type_name, stage_name, option, required)
            if value not in (None, "", [], {}):
                found[option] = value
            follow = FOLLOW_UPS.get((type_name, option), {}).get(str(value), ())
            queue[:0] = [o for o in follow if o in plugin.options_schema]
            block = store_block(value) if option == "path" else None
            if block is not None and block[0] in plugin.options_schema:
                asked.add(block[0])
                settings = self._block(prefix, block[0], block[1], plugin.options_schema[block[0]], stage_name)
                found.update({block[0]: settings} if settings else {})
        return {**found, **self._more_options(prefix, kind, type_name, set(found) | asked)}

    def _option(self, prefix: str, kind: Kind, type_name: str, stage_name: str, option: str, required: bool) -> Any:
        """One option's answer: a hidden prompt for a credential, a choice of the project's catalogs, the keys of
        a variant block, else the question its schema shapes."""
        plugin = self.registry.get(kind, type_name)
        schema = plugin.options_schema.get(option, {})
        key = f"{prefix}.{option}"
        if is_credential_key(option):
            field_name = f"{stage_name}_{option}" if prefix != "source" else option
            return self._secret(key, field_name, option, optional=not required)
        if option in VARIANTS and isinstance(schema.get("properties"), dict):
            return self._variant(key, option, schema, stage_name if prefix != "source" else "")
        if option == "catalog" and getattr(plugin, "catalog_kind", None) is not None:
            return self.ask(self._catalog_question(key, schema))
        default = f"output/{self.draft.name}" if kind == "sink" and option == "path" else None
        question = option_question(key, option, schema, required, default)
        if option == "path":
            question = replace(question, check=_both(question.check, path_problem))
        elif option in CONNECTION_STRINGS:
            question = replace(question, check=_both(question.check, password_problem))
        return self.ask(self._placed(question, kind, option))

    def _catalog_question(self, key: str, schema: dict[str, Any]) -> Question:
        """The project's Iceberg catalogs to choose from; without one, why the answer cannot be right yet."""
        if self.table_catalogs:
            choices = _choices(self.table_catalogs)
            return Question(
                key, "catalog — Iceberg catalog of etl-project.yaml", "select", choices, self.table_catalogs[0]
            )
        hint = (
            "add one to etl-project.yaml first, "
            "e.g. catalogs: {lake: {type: iceberg, catalog_type: hadoop, warehouse: lake}}"
        )

        def unknown(value: Any) -> str | None:
            return f"etl-project.yaml declares no iceberg catalog named '{value}'; {hint}"

        return Question(key, "catalog — Iceberg catalog of etl-project.yaml", check=unknown, help=hint)

    def _variant(self, key: str, option: str, schema: dict[str, Any], owner: str) -> dict[str, Any] | None:
        """A block whose ``type`` decides its keys (a REST ``auth:`` or ``paginate:``): the type, then its keys."""
        variants = VARIANTS[option]
        declared = variant_schema(schema, "type").get("enum", list(variants))
        types = [NO_VARIANT, *[t for t in declared if t in variants and t != NO_VARIANT]]
        description = str(schema.get("description") or option).split(" (")[0].rstrip(".")
        chosen = self.ask(Question(f"{key}.type", f"{option} — {description}", "select", _choices(types), NO_VARIANT))
        if not chosen or chosen == NO_VARIANT:
            return None
        block: dict[str, Any] = {"type": chosen}
        for item in variants[chosen]:
            field_schema = variant_schema(schema, item.name)
            value = self._field(f"{key}.{item.name}", option, item, field_schema, owner)
            if value not in (None, "", []) and (item.required or value != field_schema.get("default")):
                block[item.name] = value
        return block

    def _block(
        self, prefix: str, option: str, fields: tuple[Field, ...], schema: dict[str, Any], owner: str
    ) -> dict[str, Any]:
        """An object store's settings block, key by key; empty when nothing was answered."""
        block: dict[str, Any] = {}
        for item in fields:
            value = self._field(
                f"{prefix}.{option}.{item.name}", option, item, variant_schema(schema, item.name), owner
            )
            if value not in (None, "", [], False):
                block[item.name] = value
        return block

    def _field(self, key: str, option: str, item: Field, schema: dict[str, Any], owner: str) -> Any:
        if is_secret_field(option, item):
            field_name = "_".join(filter(None, (owner, option, item.name)))
            return self._secret(key, field_name, f"{option}.{item.name}", optional=not item.required)
        return self.ask(option_question(key, item.name, schema, item.required))

    def _more_options(self, prefix: str, kind: Kind, type_name: str, asked: set[str]) -> dict[str, Any]:
        """Any other option, chosen from a list (answers given for an option choose it too)."""
        plugin = self.registry.get(kind, type_name)
        extra = [o for o in plugin.options_schema if o not in asked and o not in ("mode", "partition_by")]
        if not extra:
            return {}
        given = [o for o in extra if f"{prefix}.{o}" in self.answers.given]
        chosen = self.ask(
            Question(f"{prefix}.more", "More options (space to select, enter to skip)", "checkbox",
                     _choices(extra), default=given, required=False)
        )  # fmt: skip
        found: dict[str, Any] = {}
        for option in dict.fromkeys([*given, *(chosen or [])]):
            value = self.ask(option_question(f"{prefix}.{option}", option, plugin.options_schema[option], True))
            if value not in (None, "", []):
                found[option] = value
        return found

    def _secret(self, key: str, field_name: str, description: str, optional: bool = False) -> str | None:
        if self._secret_store is None:
            choices = (
                Choice("keyring", "keyring: ${secret:keyring:...}, stored in this machine's keyring"),
                Choice("env", "env: ${env:...}, read from an environment variable at run time"),
            )
            store = self.ask(Question("secrets.store", "Where should credentials live?", "select", choices, "keyring"))
            self._secret_store = store or "keyring"
        later = "none" if optional else "provide it later"
        value = self.ask(
            Question(key, f"{field_name} (hidden; empty: {later})", "secret", required=False, help=description)
        )
        if optional and not value:
            return None
        if self._secret_store == "env":
            variable = re.sub(r"[^A-Za-z0-9]+", "_", f"{self.draft.name}_{field_name}").upper()
            note = SecretField(field_name, "env", f"${{env:{variable}}}", variable, value or None)
        else:
            address = f"keyring:{self.draft.name}/{field_name}"
            note = SecretField(field_name, "keyring", f"${{secret:{address}}}", address, value or None)
        self.draft.secrets.append(note)
        return note.reference

    # -- transforms and checks

    def _transforms(self, previous: str) -> str:
        offered = [r for r in RECIPES if r.type in self.registry.types("transform")]
        chosen = self.ask(
            Question(
                "transforms",
                "Transformations (space to select, enter to go on)",
                "checkbox",
                tuple(Choice(r.type, r.title) for r in offered),
                default=[],
                required=False,
            )
        )
        for type_name in [r.type for r in offered if r.type in (chosen or [])]:
            columns = self._columns.get(previous, ())
            if type_name == "join":
                lookup = self._columns.get(self._source("join.source", "lookup"), ())
                columns = tuple(c for c in columns if c in lookup)
            step = recipe(type_name)
            stage = {"name": step.stage_name, **step.build(self.ask, previous, columns)}
            self.draft.transforms.append(stage)
            self._columns[step.stage_name] = columns_after(stage, self._columns)
            previous = step.stage_name
        return previous

    def _checks(self, last: str) -> None:
        types = self.registry.types("check")
        chosen = self.ask(
            Question("checks", "Data-quality checks", "checkbox", _choices(types), default=[], required=False)
        )
        stages = [s["name"] for s in self.draft.sources + self.draft.transforms] or [last]
        for type_name in [t for t in types if t in (chosen or [])]:
            plugin = self.registry.get_as(Check, type_name)
            prefix = f"check.{type_name}"
            stage = self.ask(
                Question(f"{prefix}.stage", f"{type_name}: check which stage", "select", _choices(stages), last)
            )
            item: dict[str, Any] = {"name": f"{type_name}_{stage}", "type": type_name, "stage": stage}
            for option in plugin.required_options:
                question = option_question(f"{prefix}.{option}", option, plugin.options_schema[option], True)
                item[option] = self.ask(self._about_columns(question, option, stage))
            actions = [str(a) for a in plugin.actions]
            item["action"] = self.ask(
                Question(f"{prefix}.action", "On failing rows", "select", _choices(actions), "warn")
            )
            self.draft.checks.append(item)

    # -- sink

    def _sink(self, previous: str) -> None:
        types = self.registry.types("sink")
        default = "parquet" if "parquet" in types else types[0]
        type_name = self.ask(Question("sink.type", "Sink type", "select", _choices(types), default)) or default
        stage: dict[str, Any] = {"name": "output", "type": type_name, "input": previous}
        stage.update(self._options("sink", "sink", type_name, "output"))
        plugin = self.registry.get("sink", type_name)
        assert issubclass(plugin, Sink)
        default = next(
            (m for (t, o, v), m in MODE_AFTER.items() if t == type_name and stage.get(o) == v and m in plugin.modes),
            plugin.default_mode,
        )
        mode = self.ask(Question("sink.mode", "Mode", "select", _choices(list(plugin.modes)), default))
        stage["mode"] = mode or default
        if stage["mode"] not in PLAIN_MODES:
            for option, schema in plugin.options_schema.items():
                if "key" in option and option not in stage and not is_credential_key(option):
                    question = option_question(f"sink.{option}", option, schema, False)
                    value = self.ask(self._about_columns(question, option, previous))
                    stage.update({option: value} if value else {})
        stage.update(self._partition_by("sink", plugin.options_schema, previous))
        for key in TARGET_KEYS:
            if isinstance(stage.get(key), str) and not stage[key].startswith("${"):
                self.draft.targets[("sinks", "output", key)] = stage[key]
        self.draft.sinks.append(stage)

    def _template_sink(self, template: TemplateInfo, previous: str) -> None:
        names = template.stage_names["sinks"]
        if len(names) != 1:
            return
        override: dict[str, Any] = {"name": names[0]}
        if previous != template.sink_inputs.get(names[0]):
            override["input"] = previous
        sink_type = next((t for k, t in template.stage_types if k == "sink"), None)
        if sink_type in self.registry.types("sink"):
            override.update(self._partition_by("sink", self.registry.get("sink", sink_type).options_schema, previous))
        if len(override) > 1:
            self.draft.sinks.append(override)

    def _first_test(self, template: TemplateInfo | None) -> None:
        """Offer ``tests/<name>.yaml``: given rows from the input, the sink's row count (docs/create-pipeline.md)."""
        if template is not None:
            name = (template.stage_names["sources"][:1] or ("input",))[0]
            sources = [{"name": name, **template.bound_source(name, self.draft.params)}, *self.draft.sources]
            sink = (template.stage_names["sinks"][:1] or ("output",))[0]
        else:
            sources, sink = list(self.draft.sources), "output"
        text = first_test_text(
            self.draft.name, sources, sink, self.draft.transforms, self.draft.checks, self.root.folder
        )
        unknown = "no test written: the columns of a source cannot be read without Spark"
        question = Question(
            "test",
            "Write a first test (tests/<name>.yaml) from the input's rows?",
            "confirm",
            default=False,
            parse=yes_no,
            warning=lambda wanted: unknown if wanted and text is None else None,
        )
        if self.ask(question):
            self.draft.first_test = text

    def _partition_by(self, prefix: str, options: dict[str, Any], previous: str) -> dict[str, Any]:
        if "partition_by" not in options:
            return {}
        question = option_question(f"{prefix}.partition_by", "partition_by", options["partition_by"], False)
        value = self.ask(self._about_columns(question, "partition_by", previous))
        return {"partition_by": value} if value else {}


def _choices(values: list[str] | tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(v, v) for v in values)


def _both(first: Any, second: Any) -> Any:
    """A check refusing what either check refuses."""

    def check(value: Any) -> str | None:
        return (first(value) if first is not None else None) or second(value)

    return check
