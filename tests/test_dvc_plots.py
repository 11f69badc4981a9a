"""`dvc plots show` works offline: every declared plot rendered, in the declared order.

On the session's pipeline: ``python -m tinyad.tools.plots`` (what scripts/setup.sh runs)
writes the HTML template with Vega inlined, ``dvc plots show`` renders the page, and
headless Chromium opens it with every network request sent to a closed port.  Each
Vega plot must have drawn (a canvas or svg in its div), each image must have loaded,
the divs must follow dvc.yaml's ``plots`` order, and the page must name no CDN.  The
screenshot is ``test-artifacts/dvc_plots.png``.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import yaml

from tests.helpers.browser import CHROME_FLAGS, CHROMEDRIVER, CHROMIUM
from tests.helpers.project import ARTIFACTS, ROOT
from tinyad.tools import plots as P

pytestmark = pytest.mark.slow



def test_declared_order_and_no_duplicate_history_plot():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    names = P.declared_plots(ROOT / "dvc.yaml")
    assert names[:4] == ["plots/evaluate/timeline.png", "plots/evaluate/events.png",
                         "plots/evaluate/confusion.png", "plots/evaluate/drift.png"]
    assert "plots/evaluate/pr_curve.csv" in names
    assert "plots" not in spec["stages"]["train"]  # history.csv only through the two training plots
    assert "/dvc_plots/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "html_template = plots/offline.html" in (ROOT / ".dvc/config").read_text()
    assert P.TEMPLATE == ".dvc/" + "plots/offline.html"


@pytest.fixture(scope="module")
def page(pipeline):
    root = pipeline.root
    subprocess.run(["python", "-m", "tinyad.tools.plots", "--root", str(root)], cwd=ROOT, check=True)
    proc = subprocess.run(["dvc", "plots", "show", "-o", "dvc_plots"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return root / "dvc_plots" / "index.html"


def test_dvc_plots_show_renders_every_plot_offline_in_order(page, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    html = page.read_text()
    assert "cdn.jsdelivr" not in html and "<script src" not in html
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    # nothing may come from the network: every request goes to a closed port
    opts.add_argument("--proxy-server=http://127.0.0.1:9")
    opts.add_argument("--proxy-bypass-list=<-loopback>")
    opts.add_argument(f"--user-data-dir={tmp_path / 'chrome-profile'}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.get(page.as_uri())
        ids = [P.plot_div_id(n) for n in P.declared_plots(page.parent.parent / "dvc.yaml")]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            drawn = driver.execute_script(
                "return arguments[0].map(id => { const d = document.getElementById(id);"
                " if (!d) return 'missing';"
                " const img = d.querySelector('img'); if (img) return img.complete && img.naturalWidth > 0;"
                " return !!d.querySelector('canvas, svg'); });", ids)
            if all(v is True for v in drawn):
                break
            time.sleep(0.5)
        assert all(v is True for v in drawn), dict(zip(ids, drawn))
        order = driver.execute_script(
            "return Array.from(document.body.children).map(e => e.id).filter(id => arguments[0].includes(id));", ids)
        assert order == ids
        assert driver.execute_script("return typeof vegaEmbed") == "function"
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1400, min(int(height) + 100, 16000))
        time.sleep(1.0)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dvc_plots.png"
        assert driver.save_screenshot(str(shot))
        assert shot.stat().st_size > 50_000
    finally:
        driver.quit()
