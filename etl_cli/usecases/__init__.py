"""Use cases of the command groups (``etl-cli dlq``, ``etl-cli secrets``), beside :mod:`etl_cli.app`.

Same layer as ``app``: the CLI parses options, calls one function here, and prints what it returns.
"""
