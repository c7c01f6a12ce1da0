"""`python -m oversight.evaluation.evaluate` (`make evaluate`): measure supplier resolution and
payment linking on the real published files in ../shared/data/real, and print the oversight
indicators for Salford (count and value at risk of each).

The headline: supplier resolution against a third party's Companies House matching of two
councils' real payees (`oversight.evaluation.label_eval`, gmca-labels). Then two more measures:

Held out, real: every published (supplier name, Companies House number) in
the real files that carry numbers (Calderdale's spend, Salford's register, Contracts Finder
notices) is a labelled mention. The numbers are hidden, the names are resolved, and each pair
of distinct names is scored: a true pair shares a company number; a predicted pair is resolved
to one supplier. Precision = correct predicted pairs / predicted pairs; recall = correct
predicted pairs / true pairs.

Synthetic: the same real names printed the ways publishers print names (upper case, Ltd /
Limited, a dropped letter...): the spellings are generated, so the figure is labelled
synthetic wherever it is shown.

Linking: the share of Salford's spend (by value, July 2020 - June 2022) linked to a contract
in Salford's register, and a sample of links for a person to check against the CSVs.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb

from oversight.core import settings
from oversight.core.catalogue import load_catalogue
from oversight.core.parameters import load_parameters
from oversight.core.warehouse import open_warehouse
from oversight.entities.entities import Mention, resolve
from oversight.entities.payees import is_personal
from oversight.entities.resolution import resolve_and_link
from oversight.evaluation import label_eval, link_eval
from oversight.evaluation.label_eval import PairScores
from oversight.evaluation.real_files import REAL_DIR
from oversight.indicators.indicators import build_marts
from oversight.ingest.load import ingest_source

REAL_CATALOGUE = settings.PROJECT_ROOT / "tests" / "catalogues" / "real.yaml"
LABELLED_SOURCES = ("calderdale-spend", "salford-register", "contracts-finder")

LABELLED_SQL = """
select distinct supplier_name, supplier_company_number from (
    select supplier_name, supplier_company_number, source_id from staging.spend
    union all select supplier_name, supplier_company_number, source_id from staging.contracts
    union all select supplier_name, supplier_company_number, source_id
    from staging.contract_suppliers)
where supplier_company_number is not null and supplier_name is not null
  and source_id in ({sources})
"""


def score_resolution(labelled: list[tuple[str, str]], threshold: float) -> PairScores:
    """Resolve the names alone and compare with the hidden numbers, pair by pair."""
    numbers: dict[str, set[str]] = {}
    for name, number in labelled:
        if not is_personal(name):
            numbers.setdefault(name, set()).add(number)
    return _score_pairs(list(numbers), threshold, lambda a, b: bool(numbers[a] & numbers[b]))


def _score_pairs(names: list[str], threshold: float, truth) -> PairScores:
    """Resolve `names` alone, then compare every pair with `truth(a, b)`: True (one
    supplier), False (two), or None (left out of the measure)."""
    resolved, _ = resolve([Mention(n) for n in names], threshold, use_identifiers=False)
    entity = {m.name: r.entity_id for m, r in resolved.items()}
    scores = PairScores(units=len(names))
    for a, b in itertools.combinations(sorted(names), 2):
        same = truth(a, b)
        if same is not None:
            scores.add(a, b, same, entity[a] == entity[b])
    return scores


# How the real files print the same supplier differently (each seen in ../shared/data/real):
# upper case (Cabinet Office, Bradford), title case (Salford's spend: "Salford Royal Nhs
# Foundation Trust"), Ltd/Limited and PLC swapped, "&" for "and" and back, "S & W" / "S&W",
# and a dropped letter ("ASL Traning Ltd" in Salford's register).
def _swap_forms(name: str) -> str:
    swaps = {
        "limited": "Ltd",
        "ltd": "Limited",
        "plc": "Public Limited Company",
        "llp": "LLP",
        "&": "and",
        "and": "&",
    }
    words = name.split()
    return " ".join(swaps.get(w.lower().strip("."), w) for w in words)


def _drop_letter(name: str, rng: random.Random) -> str:
    words = name.split()
    long = [i for i, w in enumerate(words) if len(w) >= 7 and w.isalpha() and i > 0]
    if not long:
        return name
    i = rng.choice(long)
    j = rng.randrange(1, len(words[i]) - 1)
    words[i] = words[i][:j] + words[i][j + 1 :]
    return " ".join(words)


VARIANTS = {
    "upper case": str.upper,
    "title case": lambda n, rng: n.title(),
    "legal form and '&' swapped": lambda n, rng: _swap_forms(n),
    "spacing around '&' removed": lambda n, rng: n.replace(" & ", "&").replace(".", ""),
    "a letter dropped": _drop_letter,
}


def variant_benchmark(
    labelled: list[tuple[str, str]], threshold: float, seed: int = 20261122
) -> PairScores:
    """Real names, each printed the ways real publishers print them; a true pair is two
    printings of one real name. The real names with different numbers are the negatives."""
    rng = random.Random(seed)
    printings: list[tuple[str, str]] = []
    for name, number in sorted(set(labelled)):
        if is_personal(name):
            continue
        printings.append((name, number))
        for how, make in VARIANTS.items():
            variant = make(name) if how == "upper case" else make(name, rng)
            if variant != name:
                printings.append((variant, f"{number}|{name}"))
    # A printing's label: the real name(s) it prints, and their number(s). True pairs print
    # the same real name; two different real names sharing a number are left out (they are in
    # the strict measure above); any other pair is a negative.
    label: dict[str, set[tuple[str, str]]] = {}
    for text, tag in printings:
        number, _, origin = tag.partition("|")
        label.setdefault(text, set()).add((number, origin or text))

    def truth(a: str, b: str) -> bool | None:
        if {o for _, o in label[a]} & {o for _, o in label[b]}:
            return True
        return None if {n for n, _ in label[a]} & {n for n, _ in label[b]} else False

    return _score_pairs(list(label), threshold, truth)


# Salford's register is a July 2022 snapshot; its spend runs to June 2022.
REAL_AS_OF = date(2022, 6, 30)


def build_real_warehouse(path: Path, as_of: date = REAL_AS_OF) -> None:
    catalogue = load_catalogue(REAL_CATALOGUE)
    parameters = load_parameters()
    with open_warehouse(path) as con:
        for source in catalogue.sources:
            ingest_source(con, catalogue, source.id)
        resolve_and_link(con, parameters)
        build_marts(con, catalogue, parameters, as_of)


LINK_SHARE_SQL = """
select sum(abs(l.amount)) filter (where c.source_id = 'salford-register') / sum(abs(l.amount)),
       count(*) filter (where c.source_id = 'salford-register'), count(*)
from links.spend_contract l left join staging.contracts c using (contract_id)
where l.source_id = 'salford-spend' and l.payment_date between '2020-07-01' and '2022-06-30'
"""

LINK_SAMPLE_SQL = """
select l.file_path, l.row_number, l.payment_date, l.amount, s.supplier_name as paid_to,
       c.contract_ref, c.supplier_name as contract_supplier, c.start_date,
       greatest(c.end_date, c.current_expiry_date) as ends, l.method, l.score
from links.spend_contract l
join staging.spend s on s.source_id = l.source_id and s.file_path = l.file_path
                    and s.row_number = l.row_number
join staging.contracts c using (contract_id)
where l.source_id = 'salford-spend'
order by hash(l.payment_id) limit ?
"""


def report(warehouse: Path, sample: int = 12, out=sys.stdout) -> dict:
    threshold = load_parameters().entities.supplier_fuzzy_threshold
    con = duckdb.connect(str(warehouse), read_only=True)
    sources = ", ".join(f"'{s}'" for s in LABELLED_SOURCES)
    labelled = con.execute(LABELLED_SQL.format(sources=sources)).fetchall()
    scores = score_resolution(labelled, threshold)
    variants = variant_benchmark(labelled, threshold)
    share, linked, payments = con.execute(LINK_SHARE_SQL).fetchall()[0]
    links = con.execute(LINK_SAMPLE_SQL, [sample]).fetchall()
    methods = con.execute(
        "select method, count(*) from entities.supplier_mentions group by 1 order by 1"
    ).fetchall()
    con.close()
    print(
        "\nHeld out (real): supplier resolution by name alone, published company numbers hidden",
        file=out,
    )
    print(f"  labelled names: {scores.units} (from {', '.join(LABELLED_SOURCES)})", file=out)
    print(
        f"  true pairs (same company number): {scores.true_pairs}; predicted pairs: "
        f"{scores.predicted_pairs}; correct: {scores.correct_pairs}",
        file=out,
    )
    print(
        f"  precision {scores.precision:.3f} (target 0.98)   recall {scores.recall:.3f} "
        f"(target 0.90)   fuzzy threshold {threshold:g}",
        file=out,
    )
    for a, b in scores.false_merges[:10]:
        print(f"    merged, different numbers: {a!r} ~ {b!r}", file=out)
    for a, b in scores.missed[:25]:
        print(f"    missed, same number: {a!r} / {b!r}", file=out)
    print(
        "\nSYNTHETIC: the same real names printed as generated variants (upper/title case,"
        " Ltd/Limited, '&'/'and', a dropped letter); negatives: the other real names",
        file=out,
    )
    print(
        f"  printings: {variants.units}; true pairs: {variants.true_pairs}; predicted: "
        f"{variants.predicted_pairs}; correct: {variants.correct_pairs}",
        file=out,
    )
    print(
        f"  precision {variants.precision:.3f} (target 0.98)   recall {variants.recall:.3f} "
        f"(target 0.90)",
        file=out,
    )
    for a, b in variants.false_merges[:10]:
        print(f"    merged, different suppliers: {a!r} ~ {b!r}", file=out)
    for a, b in variants.missed[:10]:
        print(f"    missed: {a!r} / {b!r}", file=out)
    print(f"\nAll real mentions by resolution method: {dict(methods)}", file=out)
    print("\nSalford spend July 2020 - June 2022 linked to a Salford register contract:", file=out)
    print(f"  {share:.1%} of the value; {linked:,} of {payments:,} payments", file=out)
    print(f"\nA sample of {len(links)} links to check against the CSVs:", file=out)
    for row in links:
        print("  " + " | ".join(str(x) for x in row), file=out)
    return {
        "precision": scores.precision,
        "recall": scores.recall,
        "link_share": share,
        "scores": scores,
        "variants": variants,
    }


INDICATORS_SQL = """
select indicator, flagged, unknown, value
from marts.buyer_scorecard where buyer = 'Salford City Council' order by indicator
"""


def indicators_report(warehouse: Path, out=sys.stdout) -> list[tuple]:
    """Count and value behind each indicator for Salford, as of REAL_AS_OF."""
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute(INDICATORS_SQL).fetchall()
    examples = con.execute("""
        select contract_ref, supplier_name, periods, ov07_value_at_risk, ov07_evidence
        from marts.contract_oversight where source_id = 'salford-register'
          and ov07_expired_but_paid order by ov07_value_at_risk desc limit 30""").fetchall()
    overpaid = con.execute("""
        select contract_ref, supplier_name, periods, value, ov08_paid_ratio,
               ov08_value_at_risk, ov08_evidence
        from marts.contract_oversight where source_id = 'salford-register'
          and ov08_paid_beyond_value order by ov08_value_at_risk desc limit 30""").fetchall()
    unknown08 = con.execute("""
        select count(*) from marts.contract_oversight where source_id = 'salford-register'
          and ov08_paid_beyond_value is null and ov08_evidence like 'unknown:%'""").fetchall()
    con.close()
    print(f"\nSalford City Council, indicators as of {REAL_AS_OF}:", file=out)
    print(f"  {'indicator':<10}{'flagged':>9}{'unknown':>9}{'value (£)':>16}", file=out)
    for indicator, flagged, unknown, value in rows:
        print(f"  {indicator:<10}{flagged:>9}{unknown:>9}{float(value or 0):>16,.2f}", file=out)
    print(f"  The {len(examples)} largest expired-but-paid (OV07):", file=out)
    for ref, supplier, periods, value, evidence in examples:
        print(
            f"    {ref} {supplier}: periods {periods}; £{value:,.2f} paid after: {evidence[:200]}",
            file=out,
        )
    print(f"  The {len(overpaid)} largest paid-beyond-value (OV08):", file=out)
    for ref, supplier, periods, value, ratio, risk, evidence in overpaid:
        print(
            f"    {ref} {supplier}: periods {periods}; value £{value:,.2f}, ratio {ratio}, "
            f"£{risk:,.2f} above: {evidence}",
            file=out,
        )
    print(
        f"  OV08 unknown because payments could belong to another contract: {unknown08[0][0]}",
        file=out,
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=12, help="links to print")
    args = parser.parse_args(argv)
    if not REAL_DIR.is_dir():
        print("../shared/data/real is not here: nothing to evaluate on", file=sys.stderr)
        return 2
    random.seed(0)
    print(label_eval.evaluate(REAL_DIR)["report"])
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Path(tmp) / "real.duckdb"
        build_real_warehouse(warehouse)
        report(warehouse, args.sample)
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            print("\n" + link_eval.format_link_report(link_eval.evaluate_links(con, REAL_DIR)))
            confident = link_eval.evaluate_links(
                con, REAL_DIR, min_confidence=load_parameters().links.min_confidence
            )
            print("\n" + link_eval.format_link_report(confident))
        finally:
            con.close()
        indicators_report(warehouse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
