"""What the REST API source and sink share: the HTTP client (retries, rate limit), authentication, pagination
and record selection, and their option schemas. Nothing here imports pyspark."""
