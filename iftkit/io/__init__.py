"""Files in and out: readers whose errors name file and line, and the one atomic-write helper."""
