"""The baseline: the same ingest, expired-but-paid (OV07) and HHI (SC01), in plain pandas.

Written the way an analyst would in a notebook - read every file with `pd.read_csv` /
`pd.read_excel`, rename the columns, clean the values with string methods, concatenate,
merge and group - so the benchmark can say what the pipeline's design buys. It is kept
here only as that baseline: the pipeline is the implementation. Its results must equal the
pipeline's (`benchmarks.bench` compares them).

    python -m benchmarks.pandas_baseline RAW_DIR --as-of 2026-09-30 --out results/
"""

from __future__ import annotations

import argparse
import io
import json
import time
import zipfile
from pathlib import Path

import pandas as pd

# Published header -> our column, for the spend and register layouts in the sample.
SPEND_COLUMNS = {
    "Authority Name": "buyer",
    "Organisation Name": "buyer",
    "Entity": "buyer",
    "Date of Payment": "date",
    "Payment Date": "date",
    "Payment date": "date",
    "Date": "date",
    "Net": "amount",
    "Net Amount": "amount",
    "Amount": "amount",
    "Amount (£)": "amount",
    "Vendor Name": "supplier",
    "Supplier Name": "supplier",
    "Supplier": "supplier",
    "Supplier(Beneficiary) Name": "supplier",
}
REGISTER_COLUMNS = {
    "Purchasing Body": "buyer",
    "Contract Reference": "ref",
    "Reference Number": "ref",
    "Reference": "ref",
    "Contract Title": "title",
    "Title of Agreement": "title",
    "Title": "title",
    "Supplier Company Name": "supplier",
    "Supplier Name": "supplier",
    "Name of Supplier": "supplier",
    "Start Date": "start",
    "Contract Start Date": "start",
    "End Date": "end",
    "Contract End Date": "end",
    "Current Expiry Date": "expiry",
}
SPEND_FOLDERS = {  # folder -> publisher (the buyer when the file has no buyer column)
    "northmoor/spend": "Northmoor City Council",
    "kelder/spend": "Kelder Valley Council",
    "ashby/spend": "Ashby Metropolitan District Council",
    "drr/spend-over-25k": "Department for Regional Resilience",
}
REGISTER_FOLDERS = {
    "northmoor/contract-register": "Northmoor City Council",
    "kelder/contract-register": "Kelder Valley Council",
    "ashby/contract-register": "Ashby Metropolitan District Council",
}
MISSING = {"", "x", "tbc", "tba", "-", "--", "n/a", "na", "#n/a", "none", "null", "nil",
           "not applicable", "not known", "unknown", "?", "various", "ongoing"}  # fmt: skip
LEGAL = r"\b(public limited company|limited liability partnership|community interest company|limited|ltd|plc|llp|lp|cic|inc|incorporated|co|company)\b"  # noqa: E501
GRACE_DAYS, MARGIN_DAYS, EXPIRED_GRACE_DAYS = 90, 30, 90


# ---------- reading ----------
def tables_in(path: Path) -> list[pd.DataFrame]:
    """Every table in a file, all text, no header yet."""
    if path.suffix == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str, engine="calamine")
        return list(sheets.values())
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            return [read_text_csv(z.read(name)) for name in z.namelist()]
    return [read_text_csv(path.read_bytes())]


def read_text_csv(data: bytes) -> pd.DataFrame:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    text = text.lstrip("\ufeff").removeprefix("ï»¿")
    if text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        return pd.DataFrame()
    return pd.read_csv(
        io.StringIO(text), header=None, dtype=str, keep_default_na=False, names=range(60)
    )


def with_header(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Find the header row (the first with two known column names) and rename."""
    for i in range(min(30, len(df))):
        names = [str(c).strip() for c in df.iloc[i].fillna("")]
        if sum(n in columns for n in names) >= 2:
            body = df.iloc[i + 1 :].copy()
            body.columns = names
            body = body.loc[:, ~body.columns.duplicated()]
            keep = [n for n in body.columns if n in columns]
            return body[keep].rename(columns=columns).loc[:, lambda d: ~d.columns.duplicated()]
    return pd.DataFrame()


def clean_text(s: pd.Series) -> pd.Series:
    s = s.fillna("").astype(str).str.strip()
    return s.where(~s.str.lower().isin(MISSING))


def to_money(s: pd.Series) -> pd.Series:
    """'£1,234.50' -> 1234.5; '(1,234.50)' and '1,234.50-' -> -1234.5."""
    s = clean_text(s).str.replace(r"[£\s,]|GBP", "", regex=True)
    negative = s.str.fullmatch(r"\(.*\)", na=False) | s.str.fullmatch(r"[0-9.]+-", na=False)
    value = pd.to_numeric(s.where(~negative, s.str.strip("()-")), errors="coerce")
    return value.where(~negative, -value)


def to_date(s: pd.Series) -> pd.Series:
    s = clean_text(s)
    iso = pd.to_datetime(s.str[:10], format="%Y-%m-%d", errors="coerce")
    other = pd.to_datetime(s.where(iso.isna()), format="mixed", dayfirst=True, errors="coerce")
    out = iso.fillna(other)
    return out.where(out.dt.year.between(1900, 2100))


def read_folder(raw: Path, folders: dict[str, str], columns: dict[str, str]) -> pd.DataFrame:
    frames = []
    for folder, publisher in folders.items():
        for path in sorted((raw / folder).glob("*")):
            if path.name.startswith(".") or path.suffix not in (".csv", ".xlsx", ".zip"):
                continue
            for table in tables_in(path):
                df = with_header(table, columns)
                if df.empty:
                    continue
                if "buyer" not in df:
                    df["buyer"] = publisher
                df["buyer"] = clean_text(df["buyer"]).fillna(publisher)
                frames.append(df)
    return pd.concat(frames, ignore_index=True)


# ---------- the keys an analyst would match on ----------
def supplier_key(names: pd.Series) -> pd.Series:
    s = names.str.split(r"(?i)\s*\b(?:t/a|trading as)\b\s*", regex=True).str[0]
    s = s.str.casefold().str.replace("&", " and ").str.replace("+", " and ")
    s = s.str.replace(r"[^0-9a-z]+", " ", regex=True)
    s = s.str.replace(LEGAL, " ", regex=True).str.replace(r"^\s*the\s+", "", regex=True)
    return s.str.split().str.join(" ")


def buyer_key(names: pd.Series) -> pd.Series:
    s = names.str.casefold().str.replace(r"[^0-9a-z]+", " ", regex=True)
    words = r"\b(the|of|council|city|borough|metropolitan|district|county|mbc|mdc|cc|dc)\b"
    return s.str.replace(words, " ", regex=True).str.split().str.join(" ")


PERSONAL = r"(?i)redact|personal (?:data|information|details)|private individual|withheld"


# ---------- the three steps ----------
def ingest(raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    spend = read_folder(raw, SPEND_FOLDERS, SPEND_COLUMNS)
    spend["supplier"] = clean_text(spend["supplier"])
    spend["date"] = to_date(spend["date"])
    spend["amount"] = to_money(spend["amount"])
    spend = spend.dropna(subset=["supplier", "date", "amount"]).reset_index(drop=True)
    contracts = read_folder(raw, REGISTER_FOLDERS, REGISTER_COLUMNS)
    contracts["title"] = clean_text(contracts["title"])
    contracts = contracts.dropna(subset=["title"]).reset_index(drop=True)
    for c in ("start", "end", "expiry"):
        contracts[c] = to_date(contracts[c]) if c in contracts else pd.NaT
    contracts["supplier"] = clean_text(contracts["supplier"])
    for df in (spend, contracts):
        df["buyer_key"] = buyer_key(df["buyer"])
        df["supplier_key"] = supplier_key(df["supplier"].fillna(""))
    personal = spend["supplier"].str.contains(PERSONAL, regex=True)
    spend.loc[personal, "supplier_key"] = "personal:" + spend.index[personal].astype(str)
    return spend, contracts


def contract_periods(contracts: pd.DataFrame) -> pd.DataFrame:
    """Register entries a payment can be matched to (a start date and a supplier), with their
    effective end (the later of end and current expiry; open-ended when neither is known)
    and a label (reference, else title)."""
    c = contracts.dropna(subset=["start"]).copy()
    c = c[c["supplier_key"] != ""]
    c["effective_end"] = c[["end", "expiry"]].max(axis=1).fillna(pd.Timestamp("2262-01-01"))
    c["contract"] = c["ref"].fillna(c["title"])
    return c


def expired_but_paid(spend: pd.DataFrame, contracts: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """OV07: per contract, payments to its supplier after its end + grace that no contract
    of that buyer and supplier covers, each given to the latest-ending contract it follows."""
    c = contract_periods(contracts)
    pairs = spend.reset_index().merge(c, on=["buyer_key", "supplier_key"], suffixes=("", "_c"))
    end = pairs["effective_end"]
    covered = (pairs["date"] >= pairs["start"] - pd.Timedelta(days=MARGIN_DAYS)) & (
        pairs["date"] <= end + pd.Timedelta(days=GRACE_DAYS)
    )
    linked = set(pairs.loc[covered, "index"])
    late = pairs[
        ~pairs["index"].isin(linked)
        & (pairs["date"] <= pd.Timestamp(as_of))
        & (pairs["date"] > end + pd.Timedelta(days=EXPIRED_GRACE_DAYS))
    ]
    late = late.sort_values(["index", "effective_end", "contract"], ascending=[True, False, True])
    late = late.drop_duplicates("index")
    return (
        late.groupby(["buyer_key", "contract"])
        .agg(payments=("amount", "size"), paid_after=("amount", "sum"))
        .reset_index()
    )


def expired_but_paid_loop(
    spend: pd.DataFrame, contracts: pd.DataFrame, as_of: str, budget: float | None = None
) -> tuple[pd.DataFrame, float]:
    """OV07 as it is usually written in a notebook: for each contract, filter the payments
    of its buyer and supplier, and check each late one against the pair's other contracts.
    Same rule and result as `expired_but_paid`. With a `budget` (seconds), stops when it is
    spent; returns the rows found and the share of contracts checked."""
    started = time.perf_counter()
    c = contract_periods(contracts)
    margin, grace = pd.Timedelta(days=MARGIN_DAYS), pd.Timedelta(days=GRACE_DAYS)
    late_grace = pd.Timedelta(days=EXPIRED_GRACE_DAYS)
    rows = []
    for done, contract in enumerate(c.itertuples()):
        if budget is not None and time.perf_counter() - started > budget:
            return pd.DataFrame(rows, columns=OV07_COLUMNS), done / len(c)
        mine = spend[
            (spend["buyer_key"] == contract.buyer_key)
            & (spend["supplier_key"] == contract.supplier_key)
            & (spend["date"] > contract.effective_end + late_grace)
            & (spend["date"] <= pd.Timestamp(as_of))
        ]
        if mine.empty:
            continue
        pair = c[
            (c["buyer_key"] == contract.buyer_key) & (c["supplier_key"] == contract.supplier_key)
        ]
        payments, paid = 0, 0.0
        for payment in mine.itertuples():
            covered = (
                (payment.date >= pair["start"] - margin)
                & (payment.date <= pair["effective_end"] + grace)
            ).any()
            followed = pair[payment.date > pair["effective_end"] + late_grace]
            latest = followed.sort_values(["effective_end", "contract"], ascending=[False, True])
            if not covered and latest.index[0] == contract.Index:
                payments, paid = payments + 1, paid + payment.amount
        if payments:
            rows.append((contract.buyer_key, contract.contract, payments, paid))
    return pd.DataFrame(rows, columns=OV07_COLUMNS), 1.0


OV07_COLUMNS = ["buyer_key", "contract", "payments", "paid_after"]


def hhi(spend: pd.DataFrame) -> pd.DataFrame:
    """SC01 on spend: HHI of suppliers' shares per buyer and financial year (April-March),
    market suppliers only: redacted and personal payees are not the market."""
    s = spend[~spend["supplier_key"].str.startswith("personal:")].copy()
    s["fy"] = (s["date"] - pd.DateOffset(months=3)).dt.year
    by = s.groupby(["buyer_key", "fy", "supplier_key"])["amount"].sum().clip(lower=0)
    share = by / by.groupby(level=[0, 1]).transform("sum")
    out = (100 * share).pow(2).groupby(level=[0, 1]).sum().round(1)
    return out.rename("hhi").reset_index()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--style", choices=["vectorised", "loop"], default="vectorised")
    parser.add_argument(
        "--budget", type=float, help="loop style: stop OV07 after this many seconds, and project"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    spend, contracts = ingest(args.raw)
    args.out.mkdir(parents=True, exist_ok=True)
    timing = {"ingest_seconds": round(time.perf_counter() - started, 2)}
    mark = time.perf_counter()
    if args.style == "vectorised":
        ov07, done = expired_but_paid(spend, contracts, args.as_of), 1.0
    else:
        ov07, done = expired_but_paid_loop(spend, contracts, args.as_of, args.budget)
    timing["ov07_seconds"] = round(time.perf_counter() - mark, 2)
    timing["ov07_share_done"] = round(done, 4)
    ov07.to_csv(args.out / "ov07.csv", index=False)
    mark = time.perf_counter()
    hhi(spend).to_csv(args.out / "sc01.csv", index=False)
    timing["sc01_seconds"] = round(time.perf_counter() - mark, 2)
    counts = pd.DataFrame({"table": ["spend", "contracts"], "rows": [len(spend), len(contracts)]})
    counts.to_csv(args.out / "rows.csv", index=False)
    if done < 1.0:  # the whole loop would have taken this long
        timing["ov07_projected_seconds"] = round(timing["ov07_seconds"] / max(done, 1e-9), 1)
    timing["projected_seconds"] = round(
        timing["ingest_seconds"] + timing.get("ov07_projected_seconds", timing["ov07_seconds"])
        + timing["sc01_seconds"], 1
    )  # fmt: skip
    (args.out / "timing.json").write_text(json.dumps(timing))


if __name__ == "__main__":
    main()
