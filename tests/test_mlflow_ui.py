"""The MLflow UI shows the pipeline runs with accuracy, int8 size and latency columns.

A real browser (Debian's headless Chromium and chromedriver, driven by selenium)
opens the experiment's runs page of an ``mlflow server`` that this test starts on a
free loopback port against a temporary sqlite database holding three runs logged by
``tinyad.tools.tracking.log_pipeline_run``.  MLflow 3's runs table shows no metric column
until it is chosen, so the test picks the three columns in the "Columns" menu, as a
user would, then reads the header and the cells.  The screenshot is kept as
``test-artifacts/mlflow_ui_runs.png``.

Needs the apt packages ``chromium`` and ``chromium-driver``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_tracking import fake_project
from tinyad.tools.tracking import log_pipeline_run

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1800,900",
]
COLUMNS = {
    "accuracy": "evaluate.int8_litert.accuracy",
    "int8 size": "quantize.tflite_bytes",
    "latency": "evaluate.latency_us.tflm.median",
}
RUNS = {  # run name -> (accuracy, int8 bytes, latency us)
    "exp-tiny": (0.87, 2200, 1.1),
    "exp-small": (0.91, 3100, 1.4),
    "exp-medium": (0.95, 5400, 2.3),
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"mlflow server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"mlflow server not healthy after {timeout} s:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def mlflow_server(uri: str, tmp: Path):
    """An ``mlflow server`` on a free port over the store ``uri``; yields its URL, and
    stops its process group (TERM, then KILL) on the way out.  Its log: tmp/server.log."""
    port = free_port()
    log = tmp / "server.log"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
             "--default-artifact-root", (tmp / "mlartifacts").as_uri(),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=tmp, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        # the server's own process group (it was started in a new session): TERM, then KILL
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def server(tmp_path_factory, monkeypatch_module):
    """An mlflow server on a free loopback port over a sqlite DB with three logged runs."""
    tmp = tmp_path_factory.mktemp("mlflow_ui")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    for name, (acc, size, lat) in RUNS.items():
        proj = fake_project(tmp / name, accuracy=acc, tflite_bytes=size, latency=lat)
        monkeypatch_module.setenv("DVC_EXP_NAME", name)
        assert log_pipeline_run(proj, artifacts=[proj / "models/model_int8.tflite"], uri=uri, experiment="tinyad", strict=True)
    monkeypatch_module.delenv("DVC_EXP_NAME")
    import mlflow

    exp_id = mlflow.MlflowClient(uri).get_experiment_by_name("tinyad").experiment_id
    with mlflow_server(uri, tmp) as url:
        yield url, exp_id


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture()
def browser(tmp_path):
    with chrome(tmp_path) as driver:
        yield driver


@contextlib.contextmanager
def chrome(tmp_path: Path, *flags: str):
    """Headless Chromium driven by chromedriver, a fresh profile under ``tmp_path``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "apt-get install -y chromium chromium-driver"
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, *flags):
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'chrome-profile'}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _click_if_present(driver, css: str) -> None:
    from selenium.webdriver.common.by import By

    for el in driver.find_elements(By.CSS_SELECTOR, css):
        if el.is_displayed():
            el.click()
            return


def test_runs_table_shows_accuracy_int8_size_and_latency(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    url, exp_id = server
    wait = WebDriverWait(browser, 90)
    browser.get(f"{url}/#/experiments/{exp_id}/runs")
    # the React app has loaded the runs when their names are links in the table
    for name in RUNS:
        wait.until(EC.presence_of_element_located((By.XPATH, f"//a[normalize-space()='{name}']")))
    # the assistant side panel and the navigation take room: close them if shown
    _click_if_present(browser, "button[aria-label='Close']")
    _click_if_present(browser, "button[aria-label='Toggle sidebar']")

    columns_button = wait.until(EC.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Columns']")))
    columns_button.click()
    for metric in COLUMNS.values():
        node = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f"span[title='{metric}']")))
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", node)
        node.click()
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()

    for metric in COLUMNS.values():
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f".ag-header-cell[col-id='metrics.`{metric}`']")))
    time.sleep(1.0)  # let the grid finish painting before the screenshot
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "mlflow_ui_runs.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000

    headers = [h.text.strip() for h in browser.find_elements(By.CSS_SELECTOR, ".ag-header-cell")]
    for label, metric in COLUMNS.items():
        assert metric in headers, f"{label} column {metric} not in the header {headers}"
        header = browser.find_element(By.CSS_SELECTOR, f".ag-header-cell[col-id='metrics.`{metric}`']")
        assert header.is_displayed(), f"{label} column is not visible"

    # each run's row shows its own values in those columns
    rows = browser.find_elements(By.CSS_SELECTOR, ".ag-center-cols-container .ag-row")
    assert len(rows) == len(RUNS)
    for name, (acc, size, lat) in RUNS.items():
        link = browser.find_element(By.XPATH, f"//a[normalize-space()='{name}']")
        assert link.is_displayed()
        row_index = link.find_element(By.XPATH, "./ancestor::*[@row-index][1]").get_attribute("row-index")
        cells = {
            metric: browser.find_element(
                By.CSS_SELECTOR, f".ag-row[row-index='{row_index}'] [col-id='metrics.`{metric}`']"
            ).text.strip()
            for metric in COLUMNS.values()
        }
        assert float(cells[COLUMNS["accuracy"]]) == pytest.approx(acc)
        assert float(cells[COLUMNS["int8 size"]]) == pytest.approx(size)
        assert float(cells[COLUMNS["latency"]]) == pytest.approx(lat)
