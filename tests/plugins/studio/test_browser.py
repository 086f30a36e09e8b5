"""The studio in a real browser: headless Chromium (Debian's chromium + chromium-driver) through Selenium.

From an empty folder: drop (upload) a folder of images, train a tiny VAE on them from the generated
form, watch the progress bar move and the grid appear, open a sample and its recipe, run an uploaded
image through a post chain built in the page (a third-party post-processor, then upsample), and
check that the browser never requested anything but the studio. With ``GENART_STUDIO_SCREENSHOTS=DIR``
it saves the screenshots docs/studio.md shows (``python scripts/make_studio_screenshots.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:  # .ci/run installs both, so CI runs this test
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
                allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
uvicorn = pytest.importorskip("uvicorn")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from genart_studio.app import create_app  # noqa: E402

SHOTS = os.environ.get("GENART_STUDIO_SCREENSHOTS")
#: records every value the progress bar takes (the page sets it from the job's events), between polls too
WATCH_PROGRESS = """
window.progressSeen = [];
const bar = document.getElementById("live-progress");
window.progressSeen.push(bar.getAttribute("value"));
new MutationObserver(() => window.progressSeen.push(bar.getAttribute("value"))).observe(bar, {attributes: true});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def studio_url(builtin_app: Any, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    app = create_app(tmp_path / "runs", builtin_app.registry)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-default-apps", "--disable-extensions"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.set_window_size(1280, 1800)  # lays out (and loads lazy images) as tall as a shot may be
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(
            "return [...document.images].every(i => i.complete)"))
        height = driver.execute_script("return Math.min(document.body.scrollHeight, 1800)")
        driver.set_window_size(1280, max(700, int(height) + 140))  # + the window's own frame
        driver.save_screenshot(str(Path(SHOTS) / name))
        driver.set_window_size(1280, 900)


def art(folder: Path, n: int = 24) -> list[Path]:
    """A folder of small pictures an artist might drop: coloured discs and bars on plain grounds."""
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        image = Image.new("RGB", (32, 32), ((40 * i) % 256, 200, 230 - 7 * i))
        draw = ImageDraw.Draw(image)
        x = 4 + (i * 5) % 14
        draw.ellipse((x, 6, x + 14, 20), fill=(230, 60 + 6 * i, 40))
        draw.rectangle((2, 24, 30 - i % 10, 28), fill=(20, 20, 90))
        path = folder / f"picture-{i:02d}.png"
        image.save(path)
        paths.append(path)
    return paths


def fill(driver: Any, name: str, value: str) -> None:
    element = driver.find_element(By.NAME, name)
    element.clear()
    element.send_keys(value)


def upload(driver: Any, base: str, files: list[Path], wait: WebDriverWait) -> None:
    driver.get(f"{base}/upload")
    driver.find_element(By.ID, "upload-files").send_keys("\n".join(str(p) for p in files))
    driver.find_element(By.ID, "upload-button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "upload-summary"), "kept"))


def wait_for_job(driver: Any, wait: WebDriverWait) -> None:
    wait.until(lambda d: d.find_elements(By.ID, "job-result")  # the page reloads itself when the job ends
               or d.find_element(By.ID, "job-state").text in ("failed", "stopped", "cancelled"))
    state = driver.find_element(By.ID, "job-state").text
    assert state == "done", driver.find_element(By.ID, "job-log").get_attribute("textContent")[-2000:]


def test_from_a_folder_of_images_to_a_grid_of_samples(studio_url: str, browser: Any, tmp_path: Path) -> None:
    wait = WebDriverWait(browser, 240, poll_frequency=0.1)
    pictures = art(tmp_path / "my pictures")
    browser.get(studio_url)
    assert "No runs here yet" in browser.page_source
    shot(browser, "studio-empty.png")

    upload(browser, studio_url, pictures, wait)
    assert "kept 24 image(s)" in browser.find_element(By.ID, "upload-summary").text
    shot(browser, "studio-upload.png")
    browser.find_element(By.ID, "upload-train").click()

    assert Select(browser.find_element(By.ID, "select-data")).first_selected_option.get_attribute("value") == "folder"
    browser.find_element(By.ID, "settings-model-vae").click()  # the model's settings, folded by default
    fill(browser, "model.vae.width", "8")
    fill(browser, "model.vae.image_size", "16")
    Select(browser.find_element(By.NAME, "model.vae.prior")).select_by_visible_text("normal")
    fill(browser, "--steps", "60")
    fill(browser, "--batch-size", "8")
    fill(browser, "--sample-every", "10")
    shot(browser, "studio-train-form.png")
    browser.find_element(By.ID, "submit-job").click()

    command = wait.until(ec.presence_of_element_located((By.ID, "job-command"))).text
    assert command.startswith("genart run --model vae:image_size=16,width=8,prior=normal --data folder:path=")
    browser.execute_script(WATCH_PROGRESS)
    seen: set[float] = set()
    shot_taken = False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(seen) < 6:
        try:
            values = browser.execute_script("return window.progressSeen || null")
        except Exception:  # the page reloads itself when the job ends
            break
        if values is None:  # reloaded: the job is over
            break
        seen.update(float(v) for v in values if v and float(v) > 0)
        if len(seen) >= 5 and SHOTS and not shot_taken:  # far enough for a curve
            shot_taken = True
            wait.until(lambda d: "/files/" in (d.find_element(By.ID, "live-snapshot").get_attribute("src") or ""))
            shot(browser, "studio-training.png")
        time.sleep(0.05)
    assert len(seen) >= 2, f"the progress bar did not move: {sorted(seen)}"
    wait_for_job(browser, wait)
    browser.find_element(By.ID, "job-result").click()

    grid = wait.until(ec.presence_of_element_located((By.ID, "run-grid")))
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    wait.until(lambda d: d.execute_script(loaded, grid))
    shot(browser, "studio-run.png")
    browser.switch_to.frame(browser.find_element(By.CSS_SELECTOR, "iframe.report"))
    pictures_in_report = browser.find_elements(By.TAG_NAME, "img")
    assert pictures_in_report and all(browser.execute_script(loaded, p) for p in pictures_in_report)
    browser.switch_to.default_content()

    browser.find_element(By.CSS_SELECTOR, ".thumbs a").click()
    recipe = wait.until(ec.presence_of_element_located((By.ID, "recipe"))).get_attribute("textContent")
    assert json.loads(recipe)["format"] == "genart-recipe-1"
    assert browser.find_element(By.ID, "image-command").text.startswith("genart run --model vae")
    shot(browser, "studio-image.png")

    upload(browser, studio_url, pictures[:1], wait)
    browser.find_element(By.ID, "upload-post").click()
    Select(browser.find_element(By.ID, "select-post0")).select_by_value("posterize")
    browser.find_element(By.ID, "settings-post0-posterize").click()
    fill(browser, "post0.posterize.levels", "3")
    Select(browser.find_element(By.ID, "select-post1")).select_by_value("upsample")
    browser.find_element(By.ID, "settings-post1-upsample").click()
    Select(browser.find_element(By.NAME, "post1.upsample.method")).select_by_value("nearest")
    shot(browser, "studio-post-form.png")
    browser.find_element(By.ID, "submit-job").click()
    assert "--post posterize:levels=3 --post upsample:method=nearest" in \
        wait.until(ec.presence_of_element_located((By.ID, "job-command"))).text
    wait_for_job(browser, wait)
    browser.find_element(By.ID, "job-result").click()
    image = wait.until(ec.presence_of_element_located((By.ID, "full-image")))
    assert browser.execute_script("return arguments[0].naturalWidth", image) == 64  # 32 px upsampled x2
    assert "posterize" in browser.find_element(By.ID, "recipe").get_attribute("textContent")
    shot(browser, "studio-post-result.png")

    browser.get(studio_url)
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.card")) == 1
    shot(browser, "studio-runs.png")

    requested = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            requested.add(message["params"]["request"]["url"])
    assert requested, "the performance log recorded no requests"
    outside = sorted(u for u in requested if not u.startswith((studio_url + "/", "data:", "blob:", "about:")))
    assert outside == [], f"requests left the studio: {outside}"
