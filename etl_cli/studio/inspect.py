"""Inspect a stage: its schema, row count and first rows, by debug stepping on one engine kept for the studio.

The first inspection starts a local Spark session; later ones reuse it (as ``etl-cli test`` shares one
session between pipelines), so only the first waits for the JVM. Each inspection steps through the
stage and what it reads with :class:`~etl_cli.runtime.execution.stepping.Stepper`, as ``etl-cli debug``
does: sinks are described, never written, and the columns a stage marks ``sensitive`` are masked.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from etl_cli.events import Reporter


class Inspector:
    """One engine for the studio process, started on first use; one inspection at a time."""

    def __init__(self, master: str | None = None):
        self.master = master
        self.session: Any = None
        self._lock = threading.Lock()

    def inspect(self, path: Path, env: str | None, stage: str, limit: int, sample: int | None) -> dict[str, Any]:
        """The ``stage`` of the pipeline at ``path``: schema, rows counted, the first ``limit`` rows (masked)."""
        from etl_cli import app
        from etl_cli.plan.dag import compile_plan
        from etl_cli.runtime.execution.stepping import Stepper
        from etl_cli.runtime.execution.workspace import open_workspace

        _, spec = app.load_spec(path, env, require_params=True)
        spec.stage(stage)  # KeyError: no such stage
        plan = compile_plan(spec).restricted_to([stage])
        reporter = Reporter()
        with self._lock:
            opening = open_workspace(
                plan,
                app.registry(),
                reporter,
                app.new_run_id(),
                self.master,
                session=self.session,
                keep_session=True,
                use_engine=False,  # one session for every pipeline inspected, some of which need an in-process one
            )
            with opening as workspace:
                self.session = workspace.session
                stepper = Stepper(workspace, app.registry(), reporter, limit=limit, sample=sample)
                try:
                    snapshot = stepper.step()
                    while snapshot.stage.name != stage:
                        snapshot = stepper.step()
                    columns, rows = snapshot.columns, snapshot.rows
                    if snapshot.stage.kind == "sink":  # a sink shows the rows it would write
                        page = stepper.more()
                        columns, rows = page.columns, page.rows
                    masked = [c for c in columns if stepper.masker.is_sensitive(c)]
                finally:
                    stepper.close()
        return {
            "stage": stage,
            "kind": snapshot.stage.kind,
            "schema": [field.to_json() for field in snapshot.schema],
            "count": snapshot.rows_out,
            "rows": [dict(zip(columns, row, strict=False)) for row in rows],
            "masked": masked,
            "sampled": sample,
        }

    def stop(self) -> None:
        with self._lock:
            if self.session is not None:
                self.session.stop()
                self.session = None
