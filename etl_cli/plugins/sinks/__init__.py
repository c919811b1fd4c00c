"""Built-in sinks: files written to a staging directory, then published atomically."""
