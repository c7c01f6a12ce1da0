"""Deterministic generator of the embedded sample in `data/raw/`: `generator` orchestrates, one
module per publisher layout (`northmoor`, `kelder`, `ashby`, `drr`), `notices` for the OCDS
notices, `planted` (the planted cases, as data) and `planted_contracts`, on `pools` and `common`."""
