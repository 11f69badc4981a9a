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

import time

import pytest

from tests.helpers.browser import chrome, click_if_present
from tests.helpers.project import ARTIFACTS
from tests.helpers.tracking import fake_project, mlflow_server
from tinyad.tools.tracking import log_pipeline_run

pytestmark = pytest.mark.slow

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
    click_if_present(browser, "button[aria-label='Close']")
    click_if_present(browser, "button[aria-label='Toggle sidebar']")

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
