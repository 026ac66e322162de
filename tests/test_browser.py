"""The workbench page in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paraseek.server.testing import demo_clips, running_server

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
#: Set to a folder (``docs`` for the README's picture) to keep the workbench screenshot there.
SCREENSHOT_DIR_ENV = "PARASEEK_SCREENSHOT_DIR"
TOKEN = "page-token"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="needs Debian's chromium and chromium-driver (scripts/setup.sh installs them)"),
]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("clips"), count=24)


@pytest.fixture
def browser(tmp_path) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required", f"--user-data-dir={tmp_path / 'profile'}",
                 "--window-size=1366,768", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.downloads = tmp_path / "downloads"
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """Poll until ``condition()`` is truthy (the page works asynchronously); fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # an element re-rendered between lookups: try again
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def shown_hits(driver) -> list[dict[str, str]]:
    """Each result card's point id, score and shown payload fields."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#results .hit')).map((card) => {
          const fields = {};
          card.querySelectorAll('.fields div').forEach((row) => {
            fields[row.querySelector('dt').textContent] = row.querySelector('dd').textContent;
          });
          return {id: card.dataset.id, score: card.querySelector('.score').textContent,
                  src: card.querySelector('audio').getAttribute('src'), styles: card.querySelector('.styles').textContent,
                  fields};
        });""")


def settled(driver) -> bool:
    """No search is in flight: the hits shown are the answer to the page's current query."""
    return driver.find_element(By.ID, "results").get_attribute("aria-busy") == "false"


def downloaded(driver, suffix: str) -> Path:
    """The finished download ending in ``suffix``: Chromium reserves the file's name (empty) while it
    writes a ``.crdownload`` beside it, and moves that over the name when done."""
    def finished() -> Path | None:
        if any(driver.downloads.glob("*.crdownload")):
            return None
        return next((p for p in driver.downloads.glob(f"*{suffix}") if p.stat().st_size > 0), None)

    return wait_for(finished, f"the {suffix} download")


def test_search_play_narrow_page_export(browser, store, model, clips, tmp_path):
    by_id = {clip.id: clip for clip in clips}
    with running_server(store, model, http_address="127.0.0.1:0") as server:
        base = server.http.url
        browser.get(f"{base}/?k=5")
        wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "#collection option"), "the collection list")
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#facets button"), "the facets")
        assert browser.switch_to.active_element == browser.find_element(By.ID, "q")

        # describe, Enter
        search_box = browser.find_element(By.ID, "q")
        search_box.send_keys("a calm low-pitched voice", Keys.ENTER)
        hits = wait_for(lambda: len(shown_hits(browser)) == 5 and shown_hits(browser), "the first hits")
        assert all(hit["src"] == f"/api/v1/collections/voices_v1/points/{hit['id']}/audio" for hit in hits)
        assert all(hit["styles"] and float(hit["score"]) for hit in hits)
        assert "q=a+calm+low-pitched+voice" in browser.current_url
        # beside the search box: how the model read the description ("low-pitched" is one of its own tags)
        understood = browser.find_element(By.ID, "understood").text
        assert understood.startswith("understood as: ") and "low-pitched 1.00" in understood

        # keyboard: j selects the first hit, space plays it
        browser.find_element(By.TAG_NAME, "body").click()
        browser.find_element(By.TAG_NAME, "body").send_keys("j")
        wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "#results .hit.selected"), "a selected hit")
        browser.switch_to.active_element.send_keys(" ")
        played = wait_for(lambda: browser.execute_script(
            "return document.querySelector('#results .hit.selected audio').currentTime"), "playback to advance")
        assert played > 0

        # narrow by a facet: the count shown is the number of hits the filter leaves
        female = wait_for(lambda: next(b for b in browser.find_elements(By.CSS_SELECTOR, '#facets button[data-field="gender"]')
                                       if b.text.startswith("female")), "the gender facet")
        assert female.text.split()[-1] == str(sum(c.payload["gender"] == "female" for c in clips))
        female.click()
        wait_for(lambda: "facets=" in browser.current_url and settled(browser) and shown_hits(browser)
                 and all(h["fields"].get("gender") == "female" for h in shown_hits(browser)), "female hits only")
        first_page = [h["id"] for h in shown_hits(browser)]

        # page
        browser.find_element(By.ID, "next").click()
        wait_for(lambda: "offset=5" in browser.current_url and settled(browser) and shown_hits(browser)
                 and shown_hits(browser)[0]["id"] not in first_page, "the second page")
        second_page = shown_hits(browser)
        assert all(h["fields"]["gender"] == "female" for h in second_page)
        assert browser.find_element(By.CSS_SELECTOR, "#results .rank").text == "6."

        # export the current results
        browser.find_element(By.ID, "export-jsonl").click()
        lines = downloaded(browser, ".jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert [r["id"] for r in records] == [h["id"] for h in second_page]
        for record in records:
            assert record["path"] == str(by_id[record["id"]].path)
            assert record["payload"] == by_id[record["id"]].payload
            assert isinstance(record["score"], float)
        browser.find_element(By.ID, "export-csv").click()
        rows = list(csv.DictReader(downloaded(browser, ".csv").open(newline="")))
        assert [row["id"] for row in rows] == [h["id"] for h in second_page]
        assert all(row["gender"] == "female" and row["path"] == str(by_id[row["id"]].path) for row in rows)

        screenshot = Path(os.environ.get(SCREENSHOT_DIR_ENV) or tmp_path) / "workbench.png"
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        browser.execute_script("window.scrollTo(0, 0)")
        assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 0

        # the URL holds the query: opening it again shows the same page of hits
        shared = browser.current_url
        browser.get("about:blank")
        browser.get(shared)
        wait_for(lambda: [h["id"] for h in shown_hits(browser)] == [h["id"] for h in second_page], "the shared query")
        assert browser.find_element(By.ID, "q").get_attribute("value") == "a calm low-pitched voice"

        # more like this / not like this
        browser.find_element(By.CSS_SELECTOR, "#results .hit .not").click()
        wait_for(lambda: "neg=" in browser.current_url and browser.find_element(By.CSS_SELECTOR, ".chip.negative")
                 and settled(browser), "a negative description's hits")
        example = shown_hits(browser)[0]["id"]
        browser.find_element(By.CSS_SELECTOR, "#results .hit .more").click()
        wait_for(lambda: f"like={example}" in browser.current_url and shown_hits(browser)
                 and example not in [h["id"] for h in shown_hits(browser)], "an example search")


def test_token_from_the_url_fragment_reaches_the_api_and_the_players(browser, store, model):
    with running_server(store, model, http_address="127.0.0.1:0", read_token=TOKEN) as server:
        browser.get(f"{server.http.url}/?q=a+fast+voice&k=3#token={TOKEN}")
        hits = wait_for(lambda: len(shown_hits(browser)) == 3 and shown_hits(browser), "hits with a token")
        assert "token" not in browser.current_url
        assert all("signature=" in hit["src"] for hit in hits)
        played = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            const audio = document.querySelector('#results audio');
            audio.play().then(() => setTimeout(() => done(audio.currentTime), 400), (e) => done(String(e)));""")
        assert isinstance(played, float) and played > 0
