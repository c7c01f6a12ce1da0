"""Recognise a contract published both in a register and as a notice (see
`contract_matches.sql` for the rule). The evidence of each match is kept."""

from __future__ import annotations

from importlib import resources

import duckdb

from oversight.core.warehouse import atomic


def match_registers_to_notices(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild `staging.contract_matches`; returns the number of matches."""
    sql = resources.files("oversight.entities").joinpath("contract_matches.sql").read_text("utf-8")
    with atomic(con):
        con.execute(sql)
    return con.execute("select count(*) from staging.contract_matches").fetchall()[0][0]
