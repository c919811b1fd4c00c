"""The partitions a published dataset has: its ``key=value`` folders, as Spark's writer named them.

A partitioned sink publishes ``<path>/key=value/...`` folders; in mode overwrite it replaces only the
partitions its rows have, so the folders under the target, not the rows of one run, are the partitions
the table has. Spark escapes characters such as ``/``, ``=`` and ``%`` in a value as ``%XX``.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import unquote

from etl_cli.plugins.sinks.filetree import FileTree


def partition_folders(tree: FileTree, root: str, keys: Sequence[str]) -> list[str]:
    """Every ``key=value/...`` folder path under ``root``, one level per key of ``keys`` in order, sorted."""
    if not keys:
        return []
    return [
        folder
        for folder in tree.folders_at_depth(root, len(keys))
        if all(part.startswith(f"{key}=") for part, key in zip(folder.split("/"), keys, strict=True))
    ]


def partition_values(folder: str) -> list[str]:
    """The values of a partition folder path (``a=1/b=x%2Fy`` → ``["1", "x/y"]``)."""
    return [unquote(part.partition("=")[2]) for part in folder.split("/")]
