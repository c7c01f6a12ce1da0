"""The core every layer builds on. In: environment variables (`settings`), the catalogue's YAML
(`catalogue`, `parameters`). Out: the validated `Catalogue` and `Parameters`, the canonical
columns and tables (`schema`), an open, locked DuckDB warehouse with its schemas and value-parsing
macros (`warehouse`, `macros.sql`) and the per-file ledger `raw.files` (`ledger`). Imports no
other layer.
"""
