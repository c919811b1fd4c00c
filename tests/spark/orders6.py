"""Six hand-written orders for the debug and dry-run check tests: order 3 is cancelled, order 5 (paid) has no
amount. Every count those tests expect is read off these rows by hand."""

from __future__ import annotations

from pathlib import Path

from tests.unit.helpers import make_project

ORDERS = """order_id,customer_id,amount,status
1,1,10.0,paid
2,2,20.0,paid
3,1,5.5,cancelled
4,3,7.0,paid
5,2,,paid
6,1,12.5,paid
"""
SCHEMA = "order_id INT, customer_id INT, amount DOUBLE, status STRING"


def write_project(root: Path, pipeline: str) -> Path:
    """The project ``checked``: the orders in ``checked/orders.csv`` and ``pipeline`` beside them."""
    files = {"checked/orders.csv": ORDERS, "checked/pipeline.yaml": pipeline}
    return make_project(root, files, project="name: checked\n") / "checked"
