"""Catalog registration at run time: the Hive metastore (hive.py) and the AWS Glue Data Catalog (glue.py).

register.py registers, after a run's sinks have committed, what each sink with a ``catalog:`` wrote
(entry.py is the one shape of a table both catalogs are written and read in); ``etl-cli catalog``
reads the tables back. The settings are checked offline by :mod:`etl_cli.model.catalog`.
"""
