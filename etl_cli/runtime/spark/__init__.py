"""Starting Spark: the session, its JVM settings, jars, Java and class sharing."""
