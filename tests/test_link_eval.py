"""oversight.evaluation.link_eval: the scoring of payment-to-contract links against hand-made
decisions, on a tiny hand-built warehouse, and the blind Salford decisions fixture against the
real files in ../shared/data/real (skipped when they are absent). The linker's own figures are
reported by `python -m oversight.evaluation.link_eval`, never asserted
here: the linker is still changing."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from oversight.evaluation.link_eval import (
    FIXTURE,
    REGISTER_FILE,
    SAMPLE,
    VENDOR_COLUMN,
    Decision,
    FixtureMismatch,
    check_decisions,
    draw_sample,
    evaluate_links,
    format_link_report,
    read_decisions,
    records,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"the real published files are not here ({REAL})"
)
SPEND = "salford/spend/2021-01.csv"
NOTICE = "contracts-finder/ocds/notice.json"


def _write(root: Path, rel: str, lines: list[str]) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Path, list[Decision]]:
    """A register of 6 rows (2-7; rows 3 and 4 are one contract and its extension), 14
    payments (rows 2-15), a notice from another source, and one decision per payment."""
    real = tmp_path / "real"
    reg_sha = _write(
        real,
        REGISTER_FILE,
        ["Contract Reference,Supplier Company Name"] + [f"S{n},Supplier {n}" for n in range(2, 8)],
    )
    spend_sha = _write(
        real, SPEND, ["Authority Name,Vendor Name"] + [f"Council,Payee {n}" for n in range(2, 16)]
    )
    con = duckdb.connect()
    con.execute("create schema staging; create schema links")
    con.execute("create table staging.contracts (contract_id text, file_path text, row_number int)")
    con.execute("create table staging.spend (source_id text, file_path text, row_number int)")
    con.execute(
        "create table links.spend_contract (source_id text, file_path text, part text, "
        "row_number int, contract_id text, method text, score double, candidates int, "
        "unlinked_reason text)"
    )
    contracts = {"C2": [2], "C3": [3, 4], "C5": [5], "C6": [6], "C7": [7]}
    for cid, rows in contracts.items():
        for r in rows:
            con.execute("insert into staging.contracts values (?, ?, ?)", [cid, REGISTER_FILE, r])
    con.execute("insert into staging.contracts values ('N1', ?, 1)", [NOTICE])
    # each entry is its own contract here (the linker groups rows of one reference and supplier)
    con.execute(
        "create table links.contract_entries as"
        " select distinct contract_id as entry_id, contract_id as contract_key"
        " from staging.contracts"
    )
    # spend row: (stratum, answer, answer rows, linked contract, method)
    cases = {
        2: ("candidates", "row", (2,), "C2", "exact"),  # correct
        3: ("candidates", "row", (4,), "C3", "exact"),  # correct: the extension row's contract
        4: ("candidates", "row", (5,), "C6", "fuzzy"),  # wrong contract
        5: ("candidates", "row", (6,), None, "unlinked"),  # missed
        6: ("candidates", "none", (), "C7", "fuzzy"),  # false link
        7: ("candidates", "none", (), None, "unlinked"),  # rightly unlinked
        8: ("candidates", "ambiguous", (5, 6), "C5", "fuzzy"),  # a guess on a tie: wrong
        9: ("candidates", "ambiguous", (5, 6), None, "ambiguous"),  # flagged: correct
        10: ("candidates", "ambiguous", (2, 3), None, "unlinked"),  # left alone
        11: ("candidates", "row", (7,), "N1", "notice"),  # another source: not judged
        12: ("no_candidates", "none", (), None, "unlinked"),  # rightly unlinked
        13: ("no_candidates", "none", (), "C2", "fuzzy"),  # false link
        14: ("candidates", "row", (2,), None, "ambiguous"),  # flagged on a decidable one: wrong
        15: ("candidates", "row", (2,), "C2", "ambiguous"),  # flagged, but the right contract
    }
    decisions = []
    for row, (stratum, answer, rows, cid, method) in cases.items():
        con.execute("insert into staging.spend values ('salford-spend', ?, ?)", [SPEND, row])
        reason = "no candidate" if method == "unlinked" else None
        con.execute(
            "insert into links.spend_contract values ('salford-spend', ?, '', ?, ?, ?, 1, 1, ?)",
            [SPEND, row, cid, method, reason],
        )
        decisions.append(
            Decision(SPEND, row, spend_sha, stratum, answer, rows, reg_sha, f"case {row}")
        )
    return con, real, decisions


def test_scores_are_the_hand_computed_ones(tiny):
    con, real, decisions = tiny
    result = evaluate_links(con, real, decisions)
    overall = result["overall"]
    # links made: rows 2, 3, 4, 6, 8, 9, 13, 14, 15 (not 5, 7, 10, 12: unlinked; 11: a notice)
    assert overall["links_made"] == 9
    assert overall["correct"] == 4  # rows 2, 3, 9, 15
    assert overall["precision"] == pytest.approx(4 / 9)
    assert overall["row_answers"] == 7  # rows 2, 3, 4, 5, 11, 14, 15
    assert overall["recall"] == pytest.approx(3 / 7)  # rows 2, 3, 15
    assert (overall["none_answers"], overall["none_left_unlinked"]) == (4, 2)
    assert overall["outcomes"] == {
        "correct": 4,
        "wrong_contract": 1,
        "missed": 1,
        "false_link": 2,
        "true_none": 2,
        "ambiguous_linked": 1,
        "ambiguous_unlinked": 1,
        "other_source": 1,
        "flagged_wrongly": 1,
    }
    candidates = result["by_stratum"]["candidates"]
    assert (candidates["links_made"], candidates["correct"]) == (8, 4)
    assert candidates["precision"] == pytest.approx(4 / 8)
    assert candidates["recall"] == pytest.approx(3 / 7)
    none = result["by_stratum"]["no_candidates"]
    assert (none["links_made"], none["correct"], none["precision"]) == (1, 0, 0.0)
    assert none["recall"] is None  # no payment there is answered `row`
    assert (none["none_answers"], none["none_left_unlinked"]) == (2, 1)
    assert result["ambiguous"] == {
        "answers": 3,
        "flagged_ambiguous": 1,
        "linked_to_a_listed_row": 1,
        "linked_elsewhere": 0,
        "left_unlinked": 1,
    }
    by_row = {i["spend_row"]: i for i in result["items"]}
    assert by_row[3]["linked_rows"] == (3, 4)
    assert by_row[11]["linked_elsewhere"] and by_row[11]["linked_rows"] == ()


def test_report_lists_every_disagreement_and_no_names(tiny):
    con, real, decisions = tiny
    text = format_link_report(evaluate_links(con, real, decisions))
    assert "44.4%" in text and "42.9%" in text and "50.0%" in text
    for row in (4, 5, 6, 8, 11, 13, 14):
        assert f"{SPEND}:{row} " in text, row
    for row in (2, 3, 7, 9, 10, 12, 15):
        assert f"{SPEND}:{row} " not in text, row
    assert "answer row 5, linked 6, method fuzzy" in text
    assert "method unlinked (no candidate)" in text
    assert "Payee" not in text and "Supplier " not in text


def test_a_payment_missing_from_the_links_table_is_not_a_link(tiny):
    con, real, decisions = tiny
    con.execute("delete from links.spend_contract where row_number = 2")
    result = evaluate_links(con, real, decisions)
    assert result["overall"]["outcomes"]["no_link_row"] == 1
    assert result["overall"]["links_made"] == 8
    assert result["overall"]["recall"] == pytest.approx(2 / 7)


def test_changed_or_missing_files_are_refused(tiny):
    con, real, decisions = tiny
    stale = [replace(decisions[0], spend_sha256="0" * 64), *decisions[1:]]
    with pytest.raises(FixtureMismatch, match="sha256 is"):
        evaluate_links(con, real, stale)
    with pytest.raises(FixtureMismatch, match="register row 9"):
        check_decisions([replace(decisions[0], register_rows=(9,))], real)
    with pytest.raises(FixtureMismatch, match="outside"):
        check_decisions([replace(decisions[0], spend_row=16)], real)
    with pytest.raises(FixtureMismatch, match="not found"):
        check_decisions(decisions, real / "elsewhere")


@needs_real
def test_the_fixture_points_at_real_rows():
    decisions = read_decisions(FIXTURE)
    check_decisions(decisions, REAL)  # every file's sha256, every spend and register row
    assert len(decisions) == sum(SAMPLE.values())
    assert len({(d.spend_file, d.spend_row) for d in decisions}) == len(decisions)
    for stratum, n in SAMPLE.items():
        assert sum(d.stratum == stratum for d in decisions) == n
    for d in decisions:
        record = records(REAL, d.spend_file)[d.spend_row - 1]
        assert any(c.strip() for c in record), (d.spend_file, d.spend_row)
        assert len(record) > VENDOR_COLUMN
        assert d.why.strip()
        if d.answer == "ambiguous":
            assert len(d.register_rows) >= 2
        if d.stratum == "no_candidates":
            assert d.answer == "none"  # no register supplier is even close to the payee


@needs_real
def test_the_fixture_is_the_documented_draw():
    decisions = read_decisions(FIXTURE)
    assert draw_sample(REAL) == [(d.stratum, d.spend_file, d.spend_row) for d in decisions]
