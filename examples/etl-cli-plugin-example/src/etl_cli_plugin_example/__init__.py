"""An example etl-cli plug-in package: the ``trim_strings`` transform and the ``not_blank`` check.

etl-cli loads them through the ``etl_cli.plugins`` entry points declared in this package's
pyproject.toml; nothing here registers itself on import.
"""
