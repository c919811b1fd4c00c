"""The pipeline model, its JSON Schema and the semantic rules."""
