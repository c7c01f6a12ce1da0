"""Fetching: what publishers have released since the last run. In: a source's `fetch:` settings
in the catalogue (file URLs, monthly URL templates, Contracts Finder and Find a Tender APIs). Out:
files and release packages written whole into `data/raw/<folder>/`, with a manifest of what was
fetched; nothing in the warehouse. Imports only the core.
"""
