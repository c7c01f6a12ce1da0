"""Start the UI as the README says (`make ui`), open the asset graph in headless Chromium
(Debian's package), and check that the asset names and a chart render. Screenshots are kept
in tests/artifacts/."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import dagster as dg
import pytest

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
def ui(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(root / "home"),
        "OVERSIGHT_WAREHOUSE": str(root / "warehouse.duckdb"),
    }
    (root / "home").mkdir()
    shutil.copy(PROJECT / "catalogue" / "dagster.yaml", root / "home" / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        defs = build_defs(warehouse_path=env["OVERSIGHT_WAREHOUSE"])
        assert all(
            r.success for r in materialise_all(defs, dg.DagsterInstance.get(), log_level="WARNING")
        )
    finally:
        os.environ.pop("DAGSTER_HOME")
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
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def page(ui):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 950})
        page.set_default_timeout(60_000)
        # The first-visit newsletter dialog can open at any moment: dismiss it whenever it
        # covers the page.
        skip = page.get_by_role("button", name="Skip")
        page.add_locator_handler(skip, lambda: skip.click())
        yield page
        browser.close()


def test_asset_graph_shows_the_layers_and_asset_names(ui, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{ui}/asset-groups", wait_until="networkidle")
    page.wait_for_selector("text=entities")
    body = page.inner_text("body")
    for group in ("raw", "staging", "entities", "links", "marts", "outputs"):
        assert group in body
    page.get_by_text("marts", exact=True).first.dblclick()
    page.wait_for_selector("text=contract_oversight")
    page.screenshot(path=ARTIFACTS / "asset-graph.png")
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
    page.screenshot(path=ARTIFACTS / "oversight-gaps-chart.png")
