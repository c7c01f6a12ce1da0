"""Ingest: published files into tables. In: the files under each source's folder in `data/raw/`
and the source's catalogue entry. Out: per file, in one transaction, its row in `raw.files`, the
typed rows in `staging.*` (contracts, spend, notices' contract records and events) and the rows
that failed in quarantine. `load` walks a source's files; `readers` turns bytes into parts
(encoding, delimiter, sheets, zip members), `mapping` finds the header and maps columns,
`tabular` types and loads them; `ocds` reads OCDS notices, `ocds_compile` compiles each
process's releases into events, notices and contracts, and `notices` loads them. Imports only
the core.
"""
