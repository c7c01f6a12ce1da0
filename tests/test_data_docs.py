"""The Data Docs site: one page per validated group of files, built when the results change
and only then; and made to work offline (`oversight/validation/data_docs_offline.py`): the
assets GX loads from CDNs are matched to local copies by library and file name, pages are
rewritten to them, and a page needing an asset with no local copy fails the build, naming it,
leaving the site as it was."""

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from oversight.validation.suites import SuiteRunner, run_suite
from tests.test_expectations import clean_warehouse


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, dict]:
    return clean_warehouse(tmp_path_factory.mktemp("clean"))


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
