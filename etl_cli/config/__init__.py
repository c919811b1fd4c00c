"""Configuration: YAML loading with line marks, templates, overlays, interpolation, provenance."""
