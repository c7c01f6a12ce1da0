"""Fetching: what publishers have released since the last run. In: a source's `fetch:` settings
in the catalogue (file URLs, monthly URL templates, Contracts Finder and Find a Tender APIs). Out:
files and release packages written whole into `data/raw/<folder>/`, with a manifest of what was
fetched; nothing in the warehouse. `fetch` decides what to ask for per source (files, API date
windows and pages); `download` does the HTTP safely. Imports only the core.
"""
