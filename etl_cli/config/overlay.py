"""Merging layers: template → pipeline → environment overlay → ``--set``.

Rules (the configuration contract):
- mappings merge deeply;
- lists whose items are all mappings with a ``name`` merge by name (an overlay item
  updates the base item of the same name; a new name is appended);
- other lists, and scalars, are replaced;
- ``!replace`` on a value replaces it instead of merging; ``!delete`` removes a key,
  or, on a named list item, removes the item of that name.
"""

from __future__ import annotations

from etl_cli.config.nodes import DELETE_TAG, REPLACE_TAG, Node
from etl_cli.diagnostics import Diagnostic, did_you_mean, error

NAMED_SECTIONS = {"sources", "transforms", "sinks", "checks"}


def merge(base: Node, over: Node, diagnostics: list[Diagnostic], path: tuple[str, ...] = ()) -> Node:
    """Return ``over`` merged onto ``base``; problems are appended to ``diagnostics``."""
    if over.tag == REPLACE_TAG:
        return _untagged(over)
    if base.is_mapping and over.is_mapping:
        return _merge_mappings(base, over, diagnostics, path)
    if base.is_sequence and over.is_sequence and _is_named_list(base) and _is_named_list(over):
        return _merge_named_lists(base, over, diagnostics, path)
    return over


def strip_tags(node: Node, diagnostics: list[Diagnostic]) -> Node:
    """Drop ``!replace`` marks and report any ``!delete`` left with nothing to delete."""
    node.tag = None
    if node.is_mapping:
        kept = {}
        for key, child in node.value.items():
            if child.tag == DELETE_TAG:
                diagnostics.append(
                    error(
                        "overlay-delete", f"!delete of '{key}', which no lower layer sets", child.key_loc or child.loc
                    )
                )
                continue
            kept[key] = strip_tags(child, diagnostics)
        node.value = kept
    elif node.is_sequence:
        for child in node.value:
            if child.tag == DELETE_TAG:
                diagnostics.append(error("overlay-delete", "!delete has nothing to delete here", child.loc))
        node.value = [strip_tags(c, diagnostics) for c in node.value if c.tag != DELETE_TAG]
    return node


def _untagged(node: Node) -> Node:
    return Node(node.value, node.loc, node.key_loc, node.raw, None, node.interpolated)


def _merge_mappings(base: Node, over: Node, diagnostics: list[Diagnostic], path: tuple[str, ...]) -> Node:
    merged = dict(base.value)
    for key, value in over.value.items():
        if value.tag == DELETE_TAG:
            if key in merged:
                del merged[key]
            else:
                hint = did_you_mean(key, merged)
                diagnostics.append(
                    error("overlay-delete", f"!delete of '{key}', which is not set", value.key_loc or value.loc, hint)
                )
            continue
        if key in merged:
            child = merge(merged[key], value, diagnostics, (*path, key))
            child.key_loc = value.key_loc
            merged[key] = child
        else:
            merged[key] = value
    return Node(merged, base.loc, base.key_loc)


def _is_named_list(node: Node) -> bool:
    return bool(node.value) and all(item.is_mapping and item.item_name() is not None for item in node.value)


def _merge_named_lists(base: Node, over: Node, diagnostics: list[Diagnostic], path: tuple[str, ...]) -> Node:
    items: dict[str, Node] = {item.item_name(): item for item in base.value}
    section = path[-1] if path else "list"
    for item in over.value:
        name = item.item_name()
        assert name is not None
        if item.tag == DELETE_TAG:
            if items.pop(name, None) is None:
                diagnostics.append(
                    error(
                        "overlay-target",
                        f"!delete of {section} item '{name}', which is not defined",
                        item.loc,
                        did_you_mean(name, items),
                    )
                )
            continue
        if name in items:
            items[name] = merge(items[name], item, diagnostics, (*path, name))
        elif section in NAMED_SECTIONS and item.get("type") is None:
            hint = did_you_mean(name, items) or "give it a 'type' to add a new item, or fix the name"
            diagnostics.append(
                error(
                    "overlay-target", f"overlay changes {section} item '{name}', which is not defined", item.loc, hint
                )
            )
        else:
            items[name] = item
    return Node(list(items.values()), over.loc, base.key_loc)
