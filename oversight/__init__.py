"""Plain-Python core of the contract oversight pipeline (no Dagster imports).

Readers turn published files into records, the catalogue says how each publisher's columns map
onto the canonical tables, and the loader writes them into the DuckDB warehouse.
"""
