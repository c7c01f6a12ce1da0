"""The contract oversight pipeline's plain Python (no Dagster imports; Great Expectations only in
`validation`), one package per layer in
the order the data flows; a layer imports only from the layers before it (tests/test_layout.py):

- `core`: settings, the catalogue, the canonical schema, the warehouse, the ingest ledger and the
  parameters; every other layer builds on it.
- `sample`: writes the embedded sample's files into `data/raw/`, as a publisher would.
- `fetch`: downloads publishers' files and notices into `data/raw/`.
- `ingest`: reads those files (tabular and OCDS) into `raw.*` and `staging.*`.
- `validation`: the staging tables validated with the Great Expectations suites and SQL rules
  in `expectations/`; the results stored per group of files, and GX's Data Docs made to work
  offline.
- `onboard`: proposes a catalogue entry for a new publisher's folder and tries it.
- `entities`: suppliers, buyers and the links between registers, notices and payments.
- `indicators`: the marts (the oversight indicators) from staging, entities and links.
- `outputs`: what people read: exports, the OCDS export, the report, charts and notebook
  helpers.
- `evaluation`: each stage measured on real published files and hand-made labels.
"""
