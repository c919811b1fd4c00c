"""Column-level lineage computed offline from the typed pipeline model (docs/lineage.md)."""
