"""Onboarding a publisher (`make onboard`). In: a folder of one publisher's files as downloaded.
Out: a proposed catalogue entry (layout, column mapping, formats; guessed by `propose`) and the
result of a dry run of that entry through the ingest, to be reviewed and written to the
catalogue (`onboard`, the command). Imports the core and the ingest.
"""
