"""``etl-cli studio``: a local web page to see, edit, inspect and run a project's pipelines (docs/studio.md).

The server (:mod:`etl_cli.studio.server`) answers on loopback only, to requests that carry its
access token; everything about pipelines goes through the layers below (loading with provenance,
validation, the plug-in registry, the project DAG, the run history, debug stepping), never a copy.
"""
