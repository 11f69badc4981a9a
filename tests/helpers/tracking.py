"""MLflow for the tests: a finished pipeline run's files, searches of a store, a server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers.project import ROOT


def fake_project(root: Path, accuracy: float = 0.9, tflite_bytes: int = 3000, latency: float = 1.5) -> Path:
    """A finished pipeline run's files: params, metrics of several stages, curves, artifacts; a git repo."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    m = root / "metrics"
    m.mkdir(exist_ok=True)
    (m / "evaluate.json").write_text(json.dumps({
        "ground_truth": 1,
        "int8_litert": {"accuracy": accuracy, "f1": accuracy - 0.1, "confusion": {"tn": 5, "fp": 1, "fn": 2, "tp": 3},
                        "by_type": {"point": {"f1": 0.5}}, "events": {"median_delay_readings": None}},
        "latency_us": {"tflm": {"median": latency, "p95": latency * 1.5}},
        "memory": {"tflm_arena_bytes": 2320, "tflite_bytes": tflite_bytes},
        "method": {"truth": "ground-truth label"},
        "flags": {"ok": True},
        "list": [1, 2],
    }))
    (m / "quantize.json").write_text(json.dumps({"tflite_bytes": tflite_bytes, "agreement": 0.99}))
    (m / "train.json").write_text(json.dumps({"loss": 0.2, "weird key(1)": 3}))
    hist = root / "plots" / "train" / "history.csv"
    hist.parent.mkdir(parents=True, exist_ok=True)
    hist.write_text("epoch,loss,accuracy,val_loss,val_accuracy\n1,0.9,0.5,0.95,0.5\n2,0.5,0.7,0.6,0.7\n3,0.3,0.8,0.4,0.8\n")
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model_int8.tflite").write_bytes(b"TFL3" + bytes(tflite_bytes - 4))
    (root / "plots" / "evaluate").mkdir(parents=True, exist_ok=True)
    (root / "plots" / "evaluate" / "pr_curve.csv").write_text("recall,precision\n0.5,1.0\n1.0,0.5\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "run"], cwd=root, check=True)
    return root


def search_runs(uri: str, experiment: str):
    """``mlflow.search_runs`` on one store without leaving the process pointed at it
    (``mlflow.set_tracking_uri`` sets a global and the environment for later tests)."""
    import mlflow
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri

    with _use_tracking_uri(uri):
        return mlflow.search_runs(experiment_names=[experiment])


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
