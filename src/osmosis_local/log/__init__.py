"""The transcript log and what is computed from it: run records, the results models, statistics."""
