"""Dagster wiring: the one Definitions object, resources, partitions, jobs and the CLI."""
