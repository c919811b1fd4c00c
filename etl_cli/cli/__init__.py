"""The command line: thin Typer commands over :mod:`etl_cli.app`."""
