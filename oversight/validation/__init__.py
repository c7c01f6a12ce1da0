"""Data quality. In: the staging tables and the suites in `expectations/` (a Great
Expectations 1.x suite and SQL rules per table). Out: each rule's outcome per group of files
(`quality.validation_units`, `quality.unit_outcomes`), per-file SQL rules' findings per file
(`quality.rule_findings`, `sql_rules`), GX's stored results and its Data Docs site, made to
work offline (`data_docs_offline`). The only plain-Python layer that imports
Great Expectations, lazily: a run with nothing to validate never does. Imports the core.
"""
