"""What every feature package builds on: errors, paths, files, statistics, stores, fingerprints, HTML."""
