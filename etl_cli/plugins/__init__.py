"""Plug-ins: sources, transforms and sinks. Built-ins register when
:mod:`etl_cli.plugins.builtin` is imported; third parties through the
``etl_cli.plugins`` entry-point group."""
