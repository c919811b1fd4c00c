"""Generate the quickstart's sample data deterministically (seeded), so it can be re-made identically."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "pipelines" / "quickstart" / "data"
COUNTRIES = ["DE", "FR", "NL", "NO", "PL", "SE"]
STATUSES = ["paid", "paid", "paid", "shipped", "cancelled"]


def main() -> None:
    rng = random.Random(20261125)
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "customers.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "name", "country", "signup_date"])
        for cid in range(1, 41):
            signup = datetime(2025, 1, 1) + timedelta(days=rng.randrange(300))
            writer.writerow([cid, f"Customer {cid:03d}", rng.choice(COUNTRIES), signup.date().isoformat()])
    with (OUT / "orders.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order_id", "customer_id", "order_ts", "status", "amount", "updated_at"])
        start = datetime(2026, 11, 1)
        for oid in range(1, 301):
            ts = start + timedelta(minutes=rng.randrange(7 * 24 * 60))
            amount = round(rng.uniform(5, 500), 2)
            row = [oid, rng.randrange(1, 41), ts.isoformat(), rng.choice(STATUSES), amount, ts.isoformat()]
            writer.writerow(row)
            if rng.random() < 0.1:
                later = ts + timedelta(hours=rng.randrange(1, 48))
                writer.writerow([oid, row[1], ts.isoformat(), "shipped", amount, later.isoformat()])


if __name__ == "__main__":
    main()
