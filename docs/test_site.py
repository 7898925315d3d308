"""The built documentation site in a real browser (`make docs-test`): served on 127.0.0.1, opened in headless Chromium
(Debian packages `chromium`, `chromium-driver`). The index, the losses notebook (its equations typeset by MathJax,
its executed outputs shown) and the figure gallery load with their images and without a console error. Screenshots land
in `_build/screenshots/`. Not in `make test`'s path (it needs the site built and a browser); CI runs it."""
import functools
import http.server
import tempfile
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
SITE, SHOTS = ROOT / "_build" / "site", ROOT / "_build" / "screenshots"


@pytest.fixture(scope="module")
def server():
    assert (SITE / "index.html").exists(), "build the site first: make docs"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
              f"--user-data-dir={tempfile.mkdtemp()}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    yield driver
    driver.quit()


def visit(browser, url, name):
    "Open `url`, wait for it and its images, save a screenshot; return the console's errors."
    browser.get_log("browser")                                         # drop what earlier pages said
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.readyState == 'complete' && [...document.images].every(i => i.complete)"))
    broken = browser.execute_script("return [...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
    assert not broken, f"{url}: images that did not load: {broken}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_index(server, browser):
    assert not visit(browser, f"{server}/index.html", "index")
    assert "CAN in JAX" in browser.title
    assert browser.execute_script("return document.querySelectorAll('nav a[href*=\"03_losses\"]').length") > 0


def test_losses_notebook_with_math_and_outputs(server, browser):
    errors = visit(browser, f"{server}/nbs/03_losses.html", "03_losses")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.querySelectorAll('mjx-container[display=\"true\"]').length") >= 4)      # the four equations of Section 3
    assert not errors, errors
    assert browser.execute_script("return document.querySelectorAll('mjx-merror').length") == 0   # no TeX errors
    text = browser.find_element("tag name", "body").text
    assert "$$" not in text                                            # every display equation was typeset
    assert "log(2n-1) =" in text                                       # the executed cells' outputs are shown


def test_figure_page(server, browser):
    errors = visit(browser, f"{server}/gallery.html", "gallery")
    assert not errors, errors
    assert browser.execute_script("return [...document.images].filter(i => i.src.endsWith('.png')).length") >= 5
