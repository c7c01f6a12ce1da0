"""What people read. In: the warehouse's marts, entities and links. Out: Parquet, CSV and XLSX
exports and the OCDS release packages (`exports`, `ocds_out`), the static HTML report
(`report`, `templates/`), charts (`charts`) and read-only helpers for notebooks (`explore`).
Imports the core.
"""
