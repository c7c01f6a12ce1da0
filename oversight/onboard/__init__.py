"""Onboarding a publisher (`make onboard`). In: a folder of one publisher's files as downloaded.
Out: a proposed catalogue entry (layout, column mapping, formats) and the result of a dry run
of that entry through the ingest, to be reviewed and written to the catalogue (`onboard`, the
command). The guess is made in three steps: `headings` (the files read into tables, header
rows found, headings matched to columns), `values` (what the values say where headings do
not; formats, placeholders, threshold) and `propose` (the entry put together). Imports the
core and the ingest.
"""
