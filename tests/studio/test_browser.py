"""The studio in a real browser (Debian's Chromium driven by Playwright) against a real ``etl-cli studio``.

A person opens a pipeline, adds a stage from the palette by dragging it onto the canvas, connects it by
dragging a wire, edits its options and watches the validation problem appear and go away; saving an invalid
pipeline is refused and leaves the file alone; saving a valid one writes YAML that keeps the comments (the
whole file is compared with text written out by hand). A new user builds a CSV → filter → Parquet pipeline
in an empty project with the keyboard and the forms only, and ``etl-cli validate`` accepts what was saved.

No JVM: checking a pipeline loads and validates it. Inspecting rows is in test_browser_inspect.py (Spark).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clihelp import etl_cli
from tests.studio.browser import EDIT_MS, Page, chromium, need_browser, studio

PROJECT = """\
name: shop
default_env: dev
environments:
  dev: {}
"""

ORDERS_CSV = "order_id,status,amount,email\n1,paid,10.5,ann@example.org\n2,cancelled,3.0,bob@example.org\n"

PIPELINE = """\
# Orders: the paid orders of the shop's export.
name: orders

sources:
  # the shop's export, one row per order
  - name: orders_raw
    type: csv
    path: data/orders.csv   # relative to the project root
    sensitive: [email]

sinks:
  - name: orders_out
    type: parquet
    input: orders_raw   # what the sink writes
    path: output/orders
"""

# what the edits below must leave on disk, worked out by hand: the new section between sources and sinks, set
# apart by a blank line as the others are; the comments and the untouched lines as they were (an end-of-line
# comment stays in its column); the sink's input changed in place and the new option added last
SAVED = """\
# Orders: the paid orders of the shop's export.
name: orders

sources:
  # the shop's export, one row per order
  - name: orders_raw
    type: csv
    path: data/orders.csv   # relative to the project root
    sensitive: [email]

transforms:
  - name: paid
    type: filter
    inputs: [orders_raw]
    condition: status = 'paid'

sinks:
  - name: orders_out
    type: parquet
    input: paid         # what the sink writes
    path: output/orders
    coalesce: 1
"""


@pytest.fixture(autouse=True)
def _browser_available() -> None:
    need_browser()


def _project(root: Path, pipeline: str | None) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "etl-project.yaml").write_text(PROJECT, encoding="utf-8")
    (root / "data" / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    if pipeline is not None:
        (root / "pipelines" / "orders").mkdir(parents=True)
        (root / "pipelines" / "orders" / "pipeline.yaml").write_text(pipeline, encoding="utf-8")
    return root


def test_edit_a_pipeline_by_dragging_and_save_it_with_its_comments(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", PIPELINE)
    file = root / "pipelines" / "orders" / "pipeline.yaml"
    with studio(root) as url, chromium() as browser:
        studio_page = Page(browser, url)
        page = studio_page.page

        # the project view lists the pipeline with its last run (none yet), and draws the project DAG
        row = page.locator('#pipelines tr[data-pipeline="orders"]')
        row.wait_for()
        assert "pipelines/orders/pipeline.yaml" in row.inner_text()
        assert "never run" in row.inner_text()
        assert page.locator('#dag a.dag-node.never[data-name="orders"]').count() == 1
        page.get_by_role("link", name="Open orders").click()
        studio_page.stage("orders_out").wait_for()
        assert page.locator("#canvas g.stage.source").count() == 1
        assert page.locator("#canvas g.stage.sink").count() == 1
        assert page.locator('#canvas path.edge[data-from="orders_raw"][data-to="orders_out"]').count() == 1
        assert studio_page.problems() == []

        # a filter dragged from the palette onto the canvas: a new stage, with its problems on it
        page.locator('.palette-item[data-kind="transform"][data-type="filter"]').drag_to(
            page.locator("#canvas-wrap"), target_position={"x": 420, "y": 300}
        )
        studio_page.stage("filter_1").wait_for()
        page.wait_for_selector('#canvas g.stage.has-error[data-stage="filter_1"]')
        assert studio_page.problems("filter_1"), "the new filter has no input and no condition: problems expected"

        # a wire dragged from the source's output handle to the filter connects them
        studio_page.drag_wire("orders_raw", "filter_1")
        page.wait_for_selector('#canvas path.edge[data-from="orders_raw"][data-to="filter_1"]', state="attached")

        page.fill("#rename-name", "paid")
        page.press("#rename-name", "Enter")
        studio_page.stage("paid").wait_for()

        # an invalid condition: the problem shows on the stage, with its message and file:line
        studio_page.set_option("paid", "condition", "status = 'paid' AND")
        page.wait_for_selector('#problems li.problem.error[data-stage="paid"][data-code="sql-syntax"]')
        problem = page.locator('#problems li.problem[data-stage="paid"][data-code="sql-syntax"]')
        assert "not valid Spark SQL" in problem.locator(".message").inner_text()
        assert problem.locator(".where").inner_text().startswith("pipelines/orders/pipeline.yaml:")
        assert "has-error" in (studio_page.stage("paid").get_attribute("class") or "")
        assert "not valid Spark SQL" in (studio_page.stage("paid").locator("title").first.text_content() or "")
        assert "not valid Spark SQL" in page.locator("#problems-live").inner_text()
        studio_page.screenshot("pipeline")

        # saving is refused while the pipeline is invalid: the file stays as it was
        page.click("#save")
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Not saved')")
        assert file.read_text(encoding="utf-8") == PIPELINE

        # fixed, the error goes away; what is left is a warning: nothing reads the filter yet
        studio_page.set_option("paid", "condition", "status = 'paid'")
        page.wait_for_function(
            "() => !document.querySelector('#problems li.problem.error[data-stage=\"paid\"]')", timeout=EDIT_MS
        )
        assert "has-error" not in (studio_page.stage("paid").get_attribute("class") or "")
        assert page.locator('#problems li.problem.warning[data-stage="paid"]').count() == 1

        # the keyboard path: the Connect form points the sink at the filter; then a number option
        page.select_option("#connect-from", "paid")
        page.select_option("#connect-to", "orders_out")
        page.focus("#connect button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector('#canvas path.edge[data-from="paid"][data-to="orders_out"]', state="attached")
        assert page.locator('#canvas path.edge[data-from="orders_raw"][data-to="orders_out"]').count() == 0
        studio_page.set_option("orders_out", "coalesce", "1")
        assert studio_page.problems() == []
        assert page.inner_text("#dirty") == "7 unsaved edits"

        page.click("#save")
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Saved')")
        assert page.inner_text("#dirty") == "saved"
        # every control has a name; the page asked nothing of any host but the studio; its script never failed
        assert studio_page.unlabelled() == []
        assert studio_page.elsewhere() == []
        assert studio_page.errors == []
    assert file.read_text(encoding="utf-8") == SAVED


def test_a_secret_option_takes_only_a_reference_and_a_refused_edit_is_taken_back(tmp_path: Path) -> None:
    """A password typed as plain text never leaves the page; a ``${secret:...}`` reference is an edit. An edit the
    studio refuses (a name another stage has) is dropped from the unsaved ones, with the reason shown."""
    pipeline = PIPELINE.replace(
        "sinks:",
        "sinks:\n  - name: orders_db\n    type: jdbc\n    input: orders_raw\n"
        "    url: jdbc:postgresql://127.0.0.1:5432/shop\n    table: orders\n",
        1,
    )
    root = _project(tmp_path / "shop", pipeline)
    with studio(root) as url, chromium() as browser:
        studio_page = Page(browser, url)
        page = studio_page.page
        page.get_by_role("link", name="Open orders").click()
        studio_page.select("orders_db")
        password = page.locator('#options [data-option="password"] input')
        assert "secret" in (password.get_attribute("class") or "")
        password.fill("hunter2")
        password.press("Tab")
        assert password.get_attribute("aria-invalid") == "true"
        assert "${secret:" in page.inner_text('#options [data-option="password"] .field-error')
        assert page.inner_text("#dirty") == "saved"  # nothing was sent
        password.fill("${secret:env:SHOP_DB_PASSWORD}")
        password.press("Tab")
        studio_page.settled()
        assert page.inner_text("#dirty") == "1 unsaved edit"
        page.click("#yaml-panel summary")  # the YAML as it would be saved
        assert "password: ${secret:env:SHOP_DB_PASSWORD}" in "".join(page.locator("#yaml-files pre").all_inner_texts())

        page.fill("#rename-name", "orders_out")
        page.press("#rename-name", "Enter")
        studio_page.settled()
        assert page.inner_text("#status").startswith("Edit refused:")
        assert "orders_out" in page.inner_text("#status")
        assert page.inner_text("#dirty") == "1 unsaved edit"
        assert studio_page.stage("orders_db").count() == 1
        assert studio_page.errors == []


def test_a_new_user_builds_a_csv_to_parquet_pipeline_without_yaml(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", None)
    with studio(root) as url, chromium() as browser:
        studio_page = Page(browser, url)
        page = studio_page.page
        page.wait_for_selector("#no-pipelines:not([hidden])")

        # everything with the keyboard: Tab to a control, type, Enter
        page.focus("#new-name")
        page.keyboard.type("daily_orders")
        page.keyboard.press("Enter")
        page.wait_for_selector("#pipeline-view:not([hidden])")
        page.wait_for_selector("#canvas g.stage.source")
        sources = page.locator("#canvas g.stage.source").evaluate_all("gs => gs.map(g => g.dataset.stage)")
        sinks = page.locator("#canvas g.stage.sink").evaluate_all("gs => gs.map(g => g.dataset.stage)")
        assert len(sources) == 1 and len(sinks) == 1, "a new pipeline starts with one source and one sink"
        source, sink = sources[0], sinks[0]

        # a stage on the canvas is selected with the keyboard too: focus it, press Enter, its panel has the focus
        studio_page.stage(source).focus()
        page.keyboard.press("Enter")
        assert page.inner_text("#stage-heading") == f"Stage {source}"
        assert page.evaluate("document.activeElement.id") == "stage-heading"

        # the source reads the project's CSV file
        studio_page.set_option(source, "path", "data/orders.csv")

        # a filter added with the form (the palette's button fills it in), fed by the source
        # (the palette is one Tab stop: the arrow keys move to the type)
        page.locator(".palette-item").first.focus()
        position = page.locator(".palette-item").evaluate_all(
            "items => items.findIndex(i => i.dataset.kind === 'transform' && i.dataset.type === 'filter')"
        )
        for _ in range(position):
            page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.dataset.type") == "filter"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "add-name"
        page.keyboard.press("Control+A")
        page.keyboard.type("paid")
        page.select_option("#add-input", source)
        page.focus("#add-stage button[type=submit]")
        page.keyboard.press("Enter")
        studio_page.stage("paid").wait_for()
        page.wait_for_selector(f'#canvas path.edge[data-from="{source}"][data-to="paid"]', state="attached")
        studio_page.set_option("paid", "condition", "status = 'paid'")

        # the sink writes the filter's rows to a folder of the project
        page.select_option("#connect-from", "paid")
        page.select_option("#connect-to", sink)
        page.focus("#connect button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_selector(f'#canvas path.edge[data-from="paid"][data-to="{sink}"]', state="attached")
        studio_page.set_option(sink, "path", "output/daily_orders")
        studio_page.set_option(sink, "mode", "overwrite")
        assert [p for p in studio_page.problems() if p] == []
        studio_page.screenshot("new-pipeline")

        page.focus("#save")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('status').textContent.startsWith('Saved')")
        assert studio_page.errors == []

    file = root / "pipelines" / "daily_orders" / "pipeline.yaml"
    done = etl_cli("validate", str(file), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    text = file.read_text(encoding="utf-8")
    assert "condition: status = 'paid'" in text
    assert "path: data/orders.csv" in text
    assert "path: output/daily_orders" in text
