"""Deterministic generator of the embedded sample in `data/raw/` (see `generator.py`)."""
