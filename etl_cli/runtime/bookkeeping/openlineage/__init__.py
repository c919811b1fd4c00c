"""OpenLineage events of a run (docs/lineage.md#openlineage): built with the official client, sent through its
transports. Imported only when a pipeline has ``lineage:``, as the client is an optional extra."""

from __future__ import annotations

from etl_cli.runtime.bookkeeping.openlineage.emitter import RunLineage

__all__ = ["RunLineage"]
