"""The expectation suites: each passes on clean data and fails, by name, on one planted
defect; blocking failures stop the marts, warnings do not; the real files' legitimate
failures are pinned."""

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from oversight.core.catalogue import load_catalogue
from oversight.validation.suites import (
    EXPECTATIONS_DIR,
    SUITE_TABLES,
    SuiteRunner,
    _batches,
    load_sql_rules,
    load_suite,
    run_suite,
)
from tests.conftest import REAL_CATALOGUE, ingest_all, needs_real, write_catalogue
from tests.test_notices import AWARD, package, release

SPEND_HEADER = "Authority Name,Date of Payment,DocumentNo,Gross,VAT,Net,Vendor Name,Service Area"
REGISTER_HEADER = (
    "Reference Number,Title of Agreement,Supplier Name,Supplier Registration "
    "Number,SME,Start Date,End Date,Review Date,Value of Agreement,Contract Manager"
)


def clean_files(raw: Path) -> None:
    (raw / "spend").mkdir(parents=True)
    lines = [SPEND_HEADER] + [
        f"Test Council,2024-0{1 + i % 2}-{10 + i:02d},{1000 + i},{720 + i * 37}.00,120.00,"
        f"{600 + i * 37}.00,Supplier {i} Ltd,Area"
        for i in range(25)
    ]
    (raw / "spend" / "2024.csv").write_text("\n".join(lines) + "\n")
    (raw / "register").mkdir()
    rows = [REGISTER_HEADER] + [
        f"C{i},Service {i},Supplier {i} Ltd,{1234560 + i},Y,2023-04-01,2026-03-31,2025-04-01,"
        f"{10000 * (i + 1)},A. Owner"
        for i in range(30)
    ]
    (raw / "register" / "register.csv").write_text("\n".join(rows) + "\n")
    (raw / "notices").mkdir()
    rated = release(
        "r2",
        "2024-07-01T00:00:00Z",
        contracts=[
            {
                "id": "C1",
                "implementation": {
                    "metrics": [{"id": "K1", "observations": [{"id": "O1", "measure": "Good"}]}]
                },
            }
        ],
    )
    (raw / "notices" / "n.json").write_text(package(AWARD, rated))


SOURCES = [
    {
        "id": "spend",
        "publisher": "Test Council",
        "kind": "spend",
        "folder": "spend",
        "files": "*.csv",
        "layout": "salford-spend",
        "threshold": 500,
    },
    {
        "id": "register",
        "publisher": "Test Council",
        "kind": "contract_register",
        "folder": "register",
        "files": "*.csv",
        "layout": "lgtc-register",
    },
    {
        "id": "notices",
        "publisher": "Test Council",
        "kind": "ocds",
        "folder": "notices",
        "files": "*.json",
    },
]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("clean")
    clean_files(root / "raw")
    catalogue = load_catalogue(write_catalogue(root, SOURCES))
    warehouse = root / "w.duckdb"
    ingest_all(catalogue, warehouse)
    return warehouse, {s.id: s.threshold for s in catalogue.sources if s.threshold}


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> SuiteRunner:
    return SuiteRunner(tmp_path_factory.mktemp("gx"))


def failures(warehouse: Path, table: str, runner: SuiteRunner, thresholds: dict) -> set[str]:
    con = duckdb.connect(str(warehouse))
    try:
        return {o.name for o in run_suite(con, table, runner, thresholds) if not o.success}
    finally:
        con.close()


def test_every_suite_is_a_reviewed_file_with_named_rules():
    for table in SUITE_TABLES:
        suite = load_suite(table)
        assert suite["name"] == table
        names = [e["meta"]["name"] for e in suite["expectations"]]
        names += [r["name"] for r in load_sql_rules(table)]
        assert len(names) == len(set(names)), table
        for e in suite["expectations"]:
            assert e["meta"]["severity"] in ("error", "warn") and e["meta"]["why"]
        assert json.loads((EXPECTATIONS_DIR / f"{table}.json").read_text()) == suite


@pytest.mark.parametrize("table", SUITE_TABLES)
def test_clean_data_passes(clean, runner, table):
    warehouse, thresholds = clean
    assert failures(warehouse, table, runner, thresholds) == set()


def test_an_incremental_validation_checks_only_files_ingested_since(clean, runner, tmp_path):
    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))

    def validated() -> dict[str, object]:
        return dict(
            con.execute(
                "select u.file_path, max(o.validated_at) from quality.validation_units u "
                "join quality.unit_outcomes o using (unit) "
                "where u.table_name = 'staging.contracts' group by 1"
            ).fetchall()
        )

    first = run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
    before = validated()
    assert set(before) == {"register/register.csv", "notices/n.json"}
    again = run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
    after = validated()
    # Nothing changed: neither the register nor the notices are validated again.
    assert after == before
    assert [(o.name, o.success, o.unexpected) for o in again] == [
        (o.name, o.success, o.unexpected) for o in first
    ]
    # Re-ingesting the register (a new ingested_at) validates it again, and a defect in it
    # is found.
    con.execute(
        "update raw.files set ingested_at = ingested_at + interval 1 second "
        "where file_path = 'register/register.csv'"
    )
    con.execute("update staging.contracts set title = null where contract_ref = 'C3'")
    failed = {o.name for o in run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
              if not o.success}  # fmt: skip
    now = validated()
    assert now["register/register.csv"] > after["register/register.csv"]
    assert now["notices/n.json"] == after["notices/n.json"]  # the notices did not change
    assert "title_present" in failed
    # A new notice file of the source: its rows are compiled with the older files' (a
    # release may update a contract first seen in n.json), so n.json is validated again too.
    for table in ("raw.files", "staging.contracts"):
        con.execute(
            f"insert into {table} select * replace ('notices/n2.json' as file_path) "
            f"from {table} where file_path = 'notices/n.json'"
        )
    run_suite(con, "staging.contracts", runner, thresholds, reuse=True)
    latest = validated()
    assert latest["notices/n.json"] > now["notices/n.json"] and "notices/n2.json" in latest
    assert latest["register/register.csv"] == now["register/register.csv"]
    con.close()


def test_a_per_file_sql_rule_checks_only_files_ingested_since(clean, runner, tmp_path):
    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    for table in ("raw.files", "staging.spend"):  # a second file of the source
        con.execute(
            f"insert into {table} select * replace ('spend/2025.csv' as file_path) "
            f"from {table} where file_path = 'spend/2024.csv'"
        )

    def outcome(name: str, limits: dict = thresholds, reuse: bool = True):
        outcomes = run_suite(con, "staging.spend", runner, limits, reuse=reuse)
        return next(o for o in outcomes if o.name == name)

    assert outcome("lineage_key_unique").success
    per_file = sorted(r["name"] for r in load_sql_rules("staging.spend") if r.get("per"))
    assert per_file == [
        "amount_repeated_in_over_10pct_of_file",
        "lineage_key_unique",
        "transaction_below_threshold",
    ]
    checked = "select rule, count(*) from quality.rule_files group by 1 order by 1"
    assert con.execute(checked).fetchall() == [(rule, 2) for rule in per_file]
    copy_row = (
        "insert into staging.spend select * from staging.spend "
        "where file_path = '{}' and row_number = 2"
    )
    # A line copied in 2025.csv with no new ingest: that file is not checked again.
    con.execute(copy_row.format("spend/2025.csv"))
    assert outcome("lineage_key_unique").success
    # 2024.csv ingested again (a new ingested_at), with the same defect: checked, found, and
    # the example names that file.
    con.execute(copy_row.format("spend/2024.csv"))
    con.execute(
        "update raw.files set ingested_at = ingested_at + interval 1 second "
        "where file_path = 'spend/2024.csv'"
    )
    found = outcome("lineage_key_unique")
    assert (found.success, found.unexpected) == (False, 1)
    assert [e["file_path"] for e in found.examples] == ["spend/2024.csv"]
    assert con.execute(checked).fetchall() == [(rule, 2) for rule in per_file]
    # Without reuse every file is checked again: both copies are found.
    assert outcome("lineage_key_unique", reuse=False).unexpected == 2
    # A file gone: its findings go too.
    for table in ("raw.files", "staging.spend"):
        con.execute(f"delete from {table} where file_path = 'spend/2024.csv'")
    found = outcome("lineage_key_unique")
    assert [e["file_path"] for e in found.examples] == ["spend/2025.csv"]
    assert con.execute(checked).fetchall() == [(rule, 1) for rule in per_file]
    # Another threshold in the catalogue checks every file again: each of 2025.csv's 21
    # single-line transactions (25 lines, 4 quarantined for dates such as 2024-02-31; 720 to
    # 1,460 gross) is under 2,000.
    assert outcome("transaction_below_threshold").success
    assert outcome("transaction_below_threshold", {"spend": 2000}).unexpected == 21
    con.close()


ROW = "(select min(row_number) from {t})"
DEFECTS = [
    (
        "staging.spend",
        "update staging.spend set payment_date = null where row_number = 2",
        {"payment_date_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = null where row_number = 2",
        {"amount_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set supplier_name = null where row_number = 2",
        {"supplier_name_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set buyer_name = null where row_number = 2",
        {"buyer_name_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set file_sha256 = null where row_number = 2",
        {"file_sha256_present"},
    ),
    (
        "staging.spend",
        "update staging.spend set payment_date = '1985-01-01' where row_number = 2",
        {"payment_date_realistic"},
    ),
    (
        "staging.spend",
        "update staging.spend set payment_date = '2099-01-01'",
        {"payment_date_realistic", "payment_date_realistic_mostly"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = 900000000 where row_number = 2",
        {"amount_plausible"},
    ),
    (
        "staging.spend",
        "update staging.spend set supplier_company_number = '123'",
        {"company_number_format"},
    ),
    (
        "staging.spend",
        "insert into staging.spend select * from staging.spend where row_number = 2",
        {"lineage_key_unique"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = 777 where row_number < 6",
        {"amount_repeated_in_over_10pct_of_file"},
    ),
    (
        "staging.spend",
        "update staging.spend set amount = 90, gross_amount = 108 where row_number = 2",
        {"transaction_below_threshold"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set title = null where contract_ref = 'C1'",
        {"title_present"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set record_type = 'rumour' where contract_ref = 'C1'",
        {"record_type_known"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set review_date = '1899-12-31' where contract_ref = 'C1'",
        {"review_date_realistic"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set end_date = '2023-01-01' where contract_ref = 'C1'",
        {"start_not_after_end"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set end_date = '2023-01-01' where record_type = 'register'",
        {"start_not_after_end", "start_not_after_end_mostly"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set start_date = '1975-01-01'",
        {"start_date_realistic", "start_date_realistic_mostly"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set total_value = -5 where contract_ref = 'C1'",
        {"values_not_negative"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set currency = 'EUR' where record_type = 'notice'",
        {"currency_known"},
    ),
    (
        "staging.contracts",
        "update staging.contracts set supplier_company_number = 'X1' where contract_ref = 'C1'",
        {"company_number_format"},
    ),
    (
        "staging.contracts",
        "insert into staging.contracts select * from staging.contracts where contract_ref = 'C1'",
        {"contract_id_unique"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set event_type = 'rumour' where event_type = 'award'",
        {"event_type_known"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set rating = 'meh' where rating is not null",
        {"rating_on_the_scale"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set event_date = null where event_type = 'award'",
        {"event_date_present"},
    ),
    (
        "staging.contract_events",
        "update staging.contract_events set contract_id = 'nowhere' where event_type = 'award'",
        {"event_has_its_contract"},
    ),
    (
        "staging.contract_events",
        "insert into staging.contract_events select * from "
        "staging.contract_events where event_type = 'award'",
        {"event_id_unique"},
    ),
    (
        "staging.contract_suppliers",
        "update staging.contract_suppliers set position = 0 where position = 2",
        {"position_from_one"},
    ),
    (
        "staging.contract_suppliers",
        "update staging.contract_suppliers set supplier_name = null where position = 2",
        {"supplier_name_present"},
    ),
    (
        "staging.contract_suppliers",
        "update staging.contract_suppliers set position = 1",
        {"supplier_position_unique"},
    ),
]


@pytest.mark.parametrize(
    ("table", "defect", "expected"), DEFECTS, ids=[f"{t}:{sorted(e)[0]}" for t, _, e in DEFECTS]
)
def test_one_planted_defect_fails_the_rule_that_names_it(
    clean, runner, tmp_path, table, defect, expected
):
    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute(defect)
    con.close()
    assert failures(copy, table, runner, thresholds) == expected


@needs_real
def test_real_files_fail_only_where_they_really_are_wrong(tmp_path, runner):
    catalogue = load_catalogue(REAL_CATALOGUE)
    warehouse = tmp_path / "w.duckdb"
    ingest_all(catalogue, warehouse)
    thresholds = {s.id: s.threshold for s in catalogue.sources if s.threshold}
    con = duckdb.connect(str(warehouse))
    outcomes = {
        t: [o for o in run_suite(con, t, runner, thresholds) if not o.success] for t in SUITE_TABLES
    }
    con.close()
    found = {(t, o.name, o.severity, o.unexpected) for t, out in outcomes.items() for o in out}
    assert found == {
        # Salford's register: two entries end the day before they start (rows 327, 359).
        ("staging.contracts", "start_not_after_end", "warn", 2),
        # Salford's spend, winter 2020-21: Covid business grants of fixed amounts
        # (£1,334, £667, £2,001, £4,000...) make up over 10% of some months' lines.
        ("staging.spend", "amount_repeated_in_over_10pct_of_file", "warn", 11),
        # Calderdale publishes lines under £500 (905 references) and the Cabinet Office
        # 8 transactions under £25k once summed (credits and part-payments); Gateshead (1,800
        # transactions, card payments among them) and Newcastle (1,426) publish under £500.
        ("staging.spend", "transaction_below_threshold", "warn", 913 + 1800 + 1426),
    }
    rows = sorted(int(x["row_number"]) for o in outcomes["staging.contracts"] for x in o.examples)
    assert rows == [327, 359]


# --- Data Docs: offline, and one result per validated group --------------------------------

GX_HEAD = """<html><head>
<link rel="stylesheet" href="https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css">
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<style>.navbar-brand a { background: url('https://assets.example.org/full_logo_dark.png') }</style>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"
  integrity="sha384-ApNbgh9B+Y1QKtv3Rn7W3mgPxhU9K/ScQsAP7hUibX39j7fakFPskvXusvfa0b4Q"
  crossorigin="anonymous"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js"
  integrity="sha384-JjSmVgyd0p3pXB1rRibZUAYoIIy6OrQ6VrjIEaFf/nJGzIxFDsf4x0xIM+B07jRM"
  crossorigin="anonymous"></script>
<link rel="shortcut icon" href="../static/images/favicon.ico" type="image/x-icon"/>
</head><body>
<img
  class="NO-CACHE"
  src="https://assets.example.org/logo-long.png?d=20240101T000000Z&amp;dataContextId=abc"
  alt="Great Expectations"/>
<a href="https://greatexpectations.io">Great Expectations</a>
<script>$(function () { $('#t').bootstrapTable({}) })</script>
</body></html>"""


def test_a_page_is_rewritten_to_the_local_copies():
    from oversight.validation.data_docs_offline import rewrite_html

    out = rewrite_html(GX_HEAD, "../../", frozenset({"logo-long.png"}))
    vendor = "../../static/vendor"
    assert f'<link rel="stylesheet" href="{vendor}/bootstrap-table/bootstrap-table.min.css">' in out
    assert f'<link rel="stylesheet" href="{vendor}/bootstrap/css/bootstrap.min.css"/>' in out
    assert f'<script src="{vendor}/vega/vega.min.js"></script>' in out
    assert f'<script src="{vendor}/jquery/jquery.min.js"></script>' in out
    # Bootstrap's bundle has Popper: the CDN's SRI hashes and CORS mode are dropped with it.
    assert f'<script src="{vendor}/bootstrap/js/bootstrap.bundle.min.js"></script>' in out
    assert "popper.min.js" not in out and "<!-- popper.js:" in out
    assert "integrity" not in out and "crossorigin" not in out
    # GX's logo from its own static/images; links, the favicon, inline scripts and the dark
    # theme's background image are left as they were.
    assert 'src="../../static/images/logo-long.png"' in out
    assert '<a href="https://greatexpectations.io">' in out
    assert 'href="../static/images/favicon.ico"' in out
    assert "$('#t').bootstrapTable({})" in out
    assert "url('https://assets.example.org/full_logo_dark.png')" in out
    assert rewrite_html(out, "../../", frozenset({"logo-long.png"})) == out  # idempotent


@pytest.mark.parametrize(
    ("url", "local"),
    [
        # Other CDNs and other releases of the same major version find the same copy.
        ("https://cdn.jsdelivr.net/npm/bootstrap@4.6.2/dist/css/bootstrap.min.css",
         "bootstrap/css/bootstrap.min.css"),
        ("https://unpkg.com/jquery@3.6.0/dist/jquery.min.js", "jquery/jquery.min.js"),
        ("//code.jquery.com/jquery-3.5.1.js", "jquery/jquery.min.js"),
        ("https://cdn.jsdelivr.net/npm/vega-lite@5.2.0/build/vega-lite.min.js",
         "vega-lite/vega-lite.min.js"),
        ("https://cdn.jsdelivr.net/npm/vega-embed@6", "vega-embed/vega-embed.min.js"),
        ("https://use.fontawesome.com/releases/v6.5.1/css/all.css",
         "font-awesome/css/all.min.css"),
        ("https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
         "bootstrap-table-filter-control.css",
         "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css"),
        ("https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
         "bootstrap-prefers-dark.css", "bootstrap-dark/css/bootstrap-prefers-dark.css"),
    ],
)  # fmt: skip
def test_cdn_assets_are_matched_by_library_and_file_name(url, local):
    from oversight.validation.data_docs_offline import rewrite_html

    out = rewrite_html(f'<script src="{url}"></script>', "")
    if url.endswith(".css"):
        out = rewrite_html(f'<link rel="stylesheet" href="{url}">', "")
    assert f'"static/vendor/{local}"' in out


def test_every_cdn_asset_in_gx_templates_has_a_local_copy():
    import great_expectations

    from oversight.validation.data_docs_offline import LIBRARIES, rule_for

    templates = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
    text = "\n".join(p.read_text() for p in templates.glob("*.j2"))
    urls = set(re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"', text))
    assert len(urls) >= 14, urls  # bootstrap, jquery, popper, font-awesome, vega x3, tables...
    for url in urls:
        rule = rule_for(url)
        assert rule.file is None or rule.file in LIBRARIES[rule.library].files, url


@pytest.mark.parametrize(
    ("page", "named"),
    [
        ('<script src="https://unpkg.com/leaflet@1.9.4/dist/leaflet.js"></script>',
         "https://unpkg.com/leaflet@1.9.4/dist/leaflet.js"),
        ('<link rel="stylesheet" href="https://cdn.example.com/css/all.min.css">',
         "https://cdn.example.com/css/all.min.css"),  # all.css of another library
        ('<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.0/dist/css/'
         'bootstrap.min.css">', "bootstrap@5.3.0"),  # another major version than the copy's
        ('<style>@import url("https://fonts.googleapis.com/css2?family=Montserrat");</style>',
         "https://fonts.googleapis.com/css2?family=Montserrat"),
        ("<style>@font-face { src: url(https://cdn.example.com/f.woff2) }</style>",
         "https://cdn.example.com/f.woff2"),
        ('<script src="https://cdn.example.com/x.js">var inline = 1;</script>',
         "https://cdn.example.com/x.js"),
    ],
)  # fmt: skip
def test_a_cdn_asset_with_no_local_copy_fails_naming_it(page, named):
    from oversight.validation.data_docs_offline import OfflineDocsError, rewrite_html

    with pytest.raises(OfflineDocsError, match=re.escape(named)):
        rewrite_html(page, "")


def test_a_site_with_an_unknown_cdn_asset_is_left_as_it_was(tmp_path):
    from oversight.validation.data_docs_offline import OfflineDocsError, make_offline

    (tmp_path / "a").mkdir()
    good = tmp_path / "index.html"
    good.write_text(GX_HEAD)
    bad = tmp_path / "a" / "page.html"
    bad.write_text('<script src="https://unpkg.com/leaflet@1.9.4/dist/leaflet.js"></script>')
    with pytest.raises(OfflineDocsError, match=r"a/page\.html: .*leaflet@1\.9\.4"):
        make_offline(tmp_path)
    assert good.read_text() == GX_HEAD
    assert not (tmp_path / "static" / "vendor").exists()


def external_assets(page: Path) -> list[str]:
    """CSS, scripts and fonts a page loads from the network."""
    text = page.read_text()
    urls = re.findall(r"""<script\b[^>]*\bsrc\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", text)
    urls += [
        u
        for tag in re.findall(r"<link\b[^>]*>", text)
        if "stylesheet" in tag
        for u in re.findall(r"""\bhref\s*=\s*["']?((?:https?:)?//[^"'\s>]+)""", tag)
    ]
    return urls + re.findall(r"""url\(\s*["']?((?:https?:)?//[^"')]+\.(?:woff2?|ttf|css))""", text)


def validation_pages(runner: SuiteRunner, suite: str) -> list[str]:
    """The run names of the suite's validation pages in the Data Docs."""
    folder = runner.docs_index().parent / "validations" / Path(*suite.split("."))
    return sorted(p.relative_to(folder).parts[0] for p in folder.rglob("*.html"))


def test_data_docs_show_one_result_per_group_and_work_offline(clean, tmp_path):
    from oversight.validation.data_docs_offline import LIBRARIES, VENDOR

    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    runner = SuiteRunner(tmp_path / "gx")
    table = "staging.contracts"

    def validate() -> dict[str, str]:
        """Validate the table incrementally, build the docs; the page of each source."""
        run_suite(con, table, runner, thresholds, reuse=True)
        runner.build_docs()
        pages = validation_pages(runner, table)
        assert sorted(runner.stored_runs(table)) == pages  # results and pages agree
        units = con.execute(
            "select source_id, any_value(unit) from quality.validation_units "
            "where table_name = ? group by 1",
            [table],
        ).fetchall()
        assert sorted(f"{u.replace(':', ' ')} batch 1" for _, u in units) == pages
        return {source: f"{u.replace(':', ' ')} batch 1" for source, u in units}

    first = validate()
    assert set(first) == {"register", "notices"}
    # Validated again with nothing changed: both groups are reused, their pages kept.
    second = validate()
    assert second == first
    # A re-ingested register is validated again and replaces its page.
    con.execute("update raw.files set ingested_at = ingested_at + interval 1 second "
                "where file_path = 'register/register.csv'")  # fmt: skip
    third = validate()
    assert third["register"] != second["register"]
    # A group whose files are gone loses its page.
    con.execute("delete from staging.contracts where source_id = 'notices'")
    assert set(validate()) == {"register"}
    con.close()
    for folder in runner.gx_dir.rglob("validations"):  # the store's and the site's
        assert not [p for p in folder.rglob("*") if p.is_dir() and not any(p.iterdir())]

    site = runner.docs_index().parent
    pages = list(site.rglob("*.html"))
    assert sorted(p.name for p in pages) == [  # the index, the suite, one validation
        "contracts.html",
        "index.html",
        "warehouse-staging.contracts.html",
    ]
    assert {p.name: external_assets(p) for p in pages if external_assets(p)} == {}
    index = runner.docs_index().read_text()
    assert 'href="static/vendor/bootstrap/css/bootstrap.min.css"' in index
    (page,) = (site / "validations").rglob("*.html")
    assert 'src="../../../../../static/vendor/jquery/jquery.min.js"' in page.read_text()
    for lib in LIBRARIES.values():
        folder = site / VENDOR / lib.folder
        for local in lib.files:
            assert (folder / local).exists(), folder / local
        (licence,) = [p for p in folder.iterdir() if p.name.startswith(("LICENSE", "NOTICE"))]
        assert licence.stat().st_size > 80, licence
    licences = {
        folder: (site / VENDOR / folder / name).read_text()
        for folder, name in [
            ("bootstrap", "NOTICE.txt"),
            ("jquery", "NOTICE.txt"),
            ("vega", "LICENSE"),
            ("font-awesome", "LICENSE.txt"),
            ("bootstrap-datepicker", "LICENSE"),
        ]
    }
    assert "Licensed under MIT" in licences["bootstrap"]
    assert "Federico Zivolo" in licences["bootstrap"]  # Popper's, in Bootstrap's bundle
    assert "jQuery v3.7.1" in licences["jquery"]
    assert "University of Washington Interactive Data Lab" in licences["vega"]
    assert "SIL OPEN FONT LICENSE" in licences["font-awesome"].upper()
    assert "Apache License" in licences["bootstrap-datepicker"]


def test_validation_builds_the_docs_when_results_change_and_only_then(clean, tmp_path):
    """validate_tables (what the validation step runs, in a process of its own) validates the
    tables asked for and builds the site when the stored results changed; the data_docs asset
    builds it again only when it is missing or older than the results (`docs_current`)."""
    from oversight.validation.suites import docs_current, docs_index, validate_tables

    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    gx_dir = tmp_path / "gx"
    seen = []
    found = validate_tables(str(copy), str(gx_dir), ["staging.contracts"], thresholds,
                            progress=lambda table, outcomes: seen.append(table))  # fmt: skip
    assert list(found) == seen == ["staging.contracts"]  # only the table asked for
    assert {o.name for o in found["staging.contracts"]} >= {"contract_id_unique"}
    index = docs_index(gx_dir)
    assert index.exists() and docs_current(gx_dir)
    built = index.stat().st_mtime_ns
    validate_tables(str(copy), str(gx_dir), ["staging.contracts"], thresholds)
    assert index.stat().st_mtime_ns == built  # nothing validated again: not rebuilt
    validate_tables(str(copy), str(gx_dir), ["staging.spend"], thresholds)
    assert index.stat().st_mtime_ns > built and docs_current(gx_dir)  # a new result: rebuilt
    assert "warehouse-staging.spend.html" in {p.name for p in index.parent.rglob("*.html")}
    result = next((gx_dir / "gx" / "uncommitted" / "validations").rglob("*.json"))
    result.unlink()  # a result deleted (another run's, or by hand): the site is stale
    assert not docs_current(gx_dir)
    index.unlink()
    assert not docs_current(gx_dir)


def test_a_group_whose_gx_results_are_gone_is_validated_again(clean, tmp_path):
    warehouse, thresholds = clean
    copy = tmp_path / "w.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    run_suite(con, "staging.spend", SuiteRunner(tmp_path / "gx1"), thresholds, reuse=True)
    # Another GX folder (OVERSIGHT_GX_DIR changed, or data/gx deleted): nothing to reuse.
    runner = SuiteRunner(tmp_path / "gx2")
    run_suite(con, "staging.spend", runner, thresholds, reuse=True)
    (unit,) = con.execute("select distinct unit from quality.validation_units "
                          "where table_name = 'staging.spend'").fetchone()  # fmt: skip
    con.close()
    assert runner.stored_runs("staging.spend") == {f"{unit.replace(':', ' ')} batch 1"}


def test_batches_run_across_files_in_file_then_row_order():
    """Files are sorted one at a time, and the batches still run across them as one stream:
    3 + 4 rows in batches of 2 are 2, 2, 2, 1, in file and row order."""
    con = duckdb.connect()
    con.execute("create schema staging")
    con.execute(
        "create table staging.spend as select * from (values "
        "('s', 'b.csv', 2), ('s', 'a.csv', 3), ('s', 'b.csv', 1), ('s', 'a.csv', 1), "
        "('s', 'b.csv', 4), ('s', 'a.csv', 2), ('s', 'b.csv', 3), ('t', 'a.csv', 9)) "
        "v(source_id, file_path, row_number)"
    )
    select = "select file_path, row_number from staging.spend where source_id = ? "
    select += "and file_path = ? order by row_number"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("oversight.validation.suites._select", lambda table: select)
        batches = list(_batches(con, "staging.spend", "s", ["b.csv", "a.csv"], 2))
    rows = [list(zip(*b.to_pydict().values(), strict=True)) for b in batches]
    assert rows == [
        [("a.csv", 1), ("a.csv", 2)],
        [("a.csv", 3), ("b.csv", 1)],
        [("b.csv", 2), ("b.csv", 3)],
        [("b.csv", 4)],
    ]


def test_a_file_is_validated_in_the_order_it_was_loaded(tmp_path):
    """No sort (a 1 GB file's sort took 1.5 GB): a file's rows come back in the order they were
    inserted, across row groups and threads, with another file's rows inserted in between."""
    from oversight.core.warehouse import open_warehouse

    with open_warehouse(tmp_path / "w.duckdb") as con:
        con.execute("set threads = 2")
        for first in (1, 100_001, 200_001):  # three chunks of a.csv, b.csv between them
            for path, start in (("a.csv", first), ("b.csv", first)):
                con.execute(
                    "insert into staging.spend (source_id, file_path, row_number, amount) "
                    "select 's', ?, r, r / 100 from range(?, ? + 100000) t(r)",
                    [path, start, start],
                )
        batches = list(_batches(con, "staging.spend", "s", ["a.csv"], 70_000))
    rows = [n for b in batches for n in b.column("row_number").to_pylist()]
    assert rows == list(range(1, 300_001))
    assert [b.num_rows for b in batches] == [70_000] * 4 + [20_000]
