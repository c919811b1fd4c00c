"""What the JDBC source and sink share: dialects and URLs, options, connections, the catalog.

Spark moves the rows (``format("jdbc")``); the statements around it (watermarks,
bounds, staging tables, the transactional merge) run on a ``java.sql.Connection``
opened through py4j with the same driver, URL and properties Spark uses. See
docs/connectors/jdbc.md.
"""
