"""Start the UI as the README says (`make ui`), open the asset graph in headless Chromium
(Debian's package), and check that the asset names and a chart render; open the Data Docs with
the network blocked and check that they render. Screenshots are kept in tests/artifacts/."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import dagster as dg
import psutil
import pytest
from dagster._core.scheduler.instigation import TickStatus  # no public name in 1.13

from pipelines.definitions import build_defs
from pipelines.run import materialise_all
from tests.conftest import PROJECT

CHROMIUM = shutil.which("chromium")
ARTIFACTS = PROJECT / "tests" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM:
    if os.environ.get("OVERSIGHT_REQUIRE_BROWSER"):
        raise RuntimeError("chromium is not installed: `make test` installs it (as root)")
    pytest.skip(
        "Debian's chromium is not installed (make test installs it)", allow_module_level=True
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Every asset materialised, in a temporary folder: its `home/` is DAGSTER_HOME, and the
    warehouse, GX folder and outputs are beside it."""
    root = tmp_path_factory.mktemp("ui")
    (root / "home").mkdir()
    shutil.copy(PROJECT / "catalogue" / "dagster.yaml", root / "home" / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(root / "home")
    try:
        defs = build_defs(warehouse_path=str(root / "warehouse.duckdb"))
        assert all(
            r.success for r in materialise_all(defs, dg.DagsterInstance.get(), log_level="WARNING")
        )
    finally:
        os.environ.pop("DAGSTER_HOME")
    return root


@pytest.fixture(scope="module")
def ui(built: Path):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(built / "home"),
        "OVERSIGHT_WAREHOUSE": str(built / "warehouse.duckdb"),
    }
    port = free_port()
    process = subprocess.Popen(
        ["make", "ui", f"UI_PORT={port}"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/server_info", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the Dagster UI did not start") from None
                time.sleep(1)
        yield url
    finally:
        # `dg dev` runs in a session of its own (pipelines/ui.py), out of reach of killpg:
        # whatever the UI started and outlives its shutdown is stopped here, not left running.
        started = []
        with contextlib.suppress(psutil.NoSuchProcess):
            started = psutil.Process(process.pid).children(recursive=True)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a loaded machine: the UI's shutdown is slow
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        _, alive = psutil.wait_procs(started, timeout=90)
        for leftover in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                leftover.kill()


@pytest.fixture(scope="module")
def chromium():
    """Playwright, to launch Debian's chromium (one per module: its sync API runs one at a
    time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p.chromium


@pytest.fixture(scope="module")
def page(ui, chromium):
    browser = chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.set_default_timeout(60_000)
    # The first-visit newsletter dialog can open at any moment: dismiss it whenever it
    # covers the page.
    skip = page.get_by_role("button", name="Skip")
    page.add_locator_handler(skip, lambda: skip.click())
    yield page
    browser.close()


def screenshot(page, name: str) -> None:
    """A screenshot for a person to look at, with the newsletter dialog out of the way (the
    locator handler runs only before actions, and a screenshot is not one)."""
    from playwright.sync_api import Error as PlaywrightError

    skip = page.get_by_role("button", name="Skip")
    if skip.is_visible():
        with contextlib.suppress(PlaywrightError):  # the locator handler clicked it first
            skip.click(timeout=5_000)
    skip.wait_for(state="hidden")
    page.screenshot(path=ARTIFACTS / name)


def test_asset_graph_shows_the_layers_and_asset_names(ui, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{ui}/asset-groups", wait_until="networkidle")
    page.wait_for_selector("text=entities")
    body = page.inner_text("body")
    for group in ("raw", "staging", "entities", "links", "marts", "outputs"):
        assert group in body
    page.get_by_text("marts", exact=True).first.dblclick()
    page.wait_for_selector("text=contract_oversight")
    screenshot(page, "asset-graph.png")
    body = page.inner_text("body")
    for name in (
        "contract_oversight",
        "supplier_concentration",
        "buyer_scorecard",
        "publisher_quality",
    ):
        assert name in body


def test_a_chart_renders_in_the_materialisation_metadata(ui, page):
    page.goto(f"{ui}/assets/marts/buyer_scorecard?view=events", wait_until="networkidle")
    page.get_by_text("[Show Markdown]").first.click()
    chart = page.wait_for_selector("img[src^='data:image/png']")
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150
    screenshot(page, "oversight-gaps-chart.png")


# What a page looks like once Bootstrap's CSS, bootstrap-table's script and Font Awesome's font
# have loaded (unstyled, the navbar and the grid's rows are blocks, and no table is built).
STYLED = """async () => {
    await document.fonts.ready;
    return {
        navbar: getComputedStyle(document.querySelector('nav.navbar')).display,
        row: getComputedStyle(document.querySelector('.row')).display,
        tables: document.querySelectorAll('.bootstrap-table tbody tr').length > 0,
        icon_font: [...document.fonts].some(
            f => f.family.includes('Font Awesome') && f.status === 'loaded'),
    };
}"""
STYLED_AS = {"navbar": "flex", "row": "flex", "tables": True, "icon_font": True}


def test_the_data_docs_render_with_no_network(built, chromium):
    """The Data Docs index and a validation page, with every host name unresolvable: nothing
    is requested but files, and the pages are styled, their tables built and their icons
    drawn."""
    site = built / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"
    validation = sorted((site / "validations").rglob("*.html"))[0]
    ARTIFACTS.mkdir(exist_ok=True)
    outside: list[str] = []
    browser = chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND"]
    )
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        page.set_default_timeout(30_000)
        page.on(
            "request",
            lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url),
        )
        for path, shot in (
            (site / "index.html", "data_docs_offline.png"),
            (validation, "data_docs_offline_validation.png"),
        ):
            page.goto(path.as_uri(), wait_until="load")
            styled = page.evaluate(STYLED)  # once the fonts have loaded
            page.screenshot(path=ARTIFACTS / shot)
            assert styled == STYLED_AS, path
    finally:
        browser.close()
    assert outside == []


def test_the_automation_page_and_no_runs_started_after_make_run(built, ui, page):
    """The UI's automation page lists the automation and the new-files sensor, both running,
    and with the warehouse `make run` built, their first ticks start no run: the instance
    still holds only the build's two runs (ingest, derive)."""
    page.goto(f"{ui}/automation", wait_until="networkidle")
    page.wait_for_selector("text=oversight_automation")
    body = page.inner_text("body")
    assert "new_published_files" in body
    # Both evaluate when the daemon starts; wait until each has finished a tick.
    instance = dg.DagsterInstance.from_config(str(built / "home"))
    try:
        deadline = time.monotonic() + 180
        while True:
            ticked = {
                state.instigator_name
                for state in instance.all_instigator_state()
                if any(
                    t.status != TickStatus.STARTED
                    for t in instance.get_ticks(
                        state.instigator_origin_id, state.selector_id, limit=5
                    )
                )
            }
            if {"oversight_automation", "new_published_files"} <= ticked:
                break
            assert time.monotonic() < deadline, f"sensors that ticked: {ticked}"
            time.sleep(2)
        page.reload(wait_until="networkidle")
        page.wait_for_selector("text=oversight_automation")
        screenshot(page, "automation.png")
        assert instance.get_runs_count() == 2
        assert not instance.get_backfills()
    finally:
        instance.dispose()
