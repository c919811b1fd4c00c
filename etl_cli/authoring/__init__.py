"""Authoring: ``create-pipeline`` asks questions, builds a pipeline from templates, checks it, writes it.

The questions are data (:mod:`.questions`); a terminal asks them with questionary
(``etl_cli.cli.wizard``), scripts answer them with flags or an answers file. Nothing here
imports a terminal library or pyspark.
"""
