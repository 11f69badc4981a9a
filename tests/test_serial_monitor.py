"""The serial monitor/recorder and the firmware's log mode, without hardware.

The first tests pin the pure parts (line parsing, CSV rows, the view) and the
session loop with a scripted port.  The slow ones put the real host firmware on the
other side of a pseudo-terminal: the firmware's stdout is the pty master, the
recorder (``python -m tinyad.board.serial_monitor``, a subprocess) opens the slave through
a symlink that stands for ``/dev/ttyUSB0``; the recorded CSV must equal the readings
the firmware was fed, and pulling the "cable" (closing the pty, removing the
symlink) must lose no recorded row, be reported, and end in a reconnection to a new
pty behind the same path that appends the rest.  Every wait is bounded.
"""

from __future__ import annotations

import io
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest

from tinyad.device.alerts import check_sample, firmware_lines
from tinyad.board.serial_monitor import (
    CSV_HEADER,
    MonitorState,
    Recorder,
    Session,
    backoff_delays,
    csv_row,
    format_event,
    header_lines,
    monitor,
    parse_line,
)
from tests.helpers.firmware import (config_constants, firmware_scores, raw_readings, rules_from_generated,
                                    run_host_firmware, synthetic_rows)

ROOT = Path(__file__).resolve().parents[1]

STATUS = {"t": 1767571440, "event": "status", "temp": 24.1, "hum": 40.2, "score": -96, "model": False,
          "threshold": False, "stuck": False, "alert": False}
ALERT = {"t": 1767573240, "event": "alert", "temp": 29.5, "hum": 40.0, "score": 127, "model": True,
         "threshold": True, "stuck": False}
CLEAR = {"t": 1767573540, "event": "clear", "temp": 24.2, "hum": 40.1, "score": -90, "model": False,
         "threshold": False, "stuck": False}


# ----------------------------------------------------------------- pure parts
def test_parse_line_accepts_firmware_objects_only():
    assert parse_line('{"t":1767573600,"event":"fault","reason":"nan"}\r') == {
        "t": 1767573600, "event": "fault", "reason": "nan"}
    for text in ("ets Jun  8 2016 00:22:57", "", "{", '{"event":"status"}', '{"t":"x","event":"status"}', "[1]"):
        assert parse_line(text) is None, text


def test_csv_rows_follow_the_ingest_conventions():
    assert csv_row(STATUS) == "2026-01-05 00:04:00,24.1,40.2"
    assert csv_row({**STATUS, "event": "reading", "hum": None}) == "2026-01-05 00:04:00,24.1,"
    assert csv_row({"t": 60, "event": "reading", "temp": None, "hum": None, "reason": "nan"}) == "1970-01-01 00:01:00,,"
    assert csv_row({"t": 60, "event": "fault", "reason": "timeout"}) == "1970-01-01 00:01:00,,"
    assert csv_row({"t": 60, "event": "reading", "temp": None, "hum": None, "reason": "dht_error"}) == \
        "1970-01-01 00:01:00,-999,-999"
    assert csv_row({**STATUS, "temp": -0.5}) == "2026-01-05 00:04:00,-0.5,40.2"
    assert csv_row(ALERT) is None and csv_row(CLEAR) is None  # not readings of their own


def test_view_colours_alerts_red_clears_green_faults_yellow_and_plain_has_no_escapes():
    fault = {"t": 60, "event": "fault", "reason": "nan"}
    assert format_event(ALERT, "", True).startswith("\x1b[1m\x1b[31m") and "ALERT" in format_event(ALERT, "", True)
    assert format_event(CLEAR, "", True).startswith("\x1b[32m")
    assert format_event(fault, "", True).startswith("\x1b[33m") and "nan" in format_event(fault, "", True)
    for msg in (ALERT, CLEAR, fault, STATUS):
        assert "\x1b" not in format_event(msg, "", False)
    assert "24.1 C" in format_event(STATUS, "", False) and "40.2 %RH" in format_event(STATUS, "", False)
    assert format_event(ALERT, "", False).endswith("(model + threshold)")
    assert format_event({**ALERT, "model": False, "threshold": False, "stuck": True}, "", False).endswith("(stuck sensor)")
    assert format_event(None, "rst:0x5 (DEEPSLEEP_RESET)\r", False) == "device: rst:0x5 (DEEPSLEEP_RESET)"


def test_header_shows_the_latest_reading_and_the_alert_state():
    state = MonitorState(port="/dev/ttyUSB0", connection="connected", record_path="data/raw/s.csv")
    assert "alert state unknown" in header_lines(state, False)[2]
    for msg in (STATUS, ALERT):
        state.update(msg)
    lines = header_lines(state, False)
    assert "29.5 C" in lines[1] and "ALERT ACTIVE" in lines[2] and "alerts 1" in lines[2]
    assert "\x1b[31m" in header_lines(state, True)[2]
    state.update(CLEAR)
    state.update({"t": 1, "event": "fault", "reason": "timeout"})
    lines = header_lines(state, False)
    assert "no alert" in lines[2] and "faults 1" in lines[2] and "readings 1" in lines[2]
    assert "data/raw/s.csv" in lines[3]


def test_backoff_doubles_up_to_the_cap():
    gen = backoff_delays(0.5, 3.0)
    assert [next(gen) for _ in range(6)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_recorder_writes_the_header_once_flushes_every_row_and_refuses_other_files(tmp_path):
    path = tmp_path / "raw" / "s.csv"
    rec = Recorder(path)
    rec.write("2026-01-05 00:00:00,24.0,40.0")
    assert path.read_text() == f"{CSV_HEADER}\n2026-01-05 00:00:00,24.0,40.0\n"  # on disk while still open
    rec.close()
    rec = Recorder(path)
    rec.write("2026-01-05 00:01:00,24.1,40.0")
    rec.close()
    assert path.read_text().splitlines() == [CSV_HEADER, "2026-01-05 00:00:00,24.0,40.0",
                                             "2026-01-05 00:01:00,24.1,40.0"]
    other = tmp_path / "other.csv"
    other.write_text("Date,Temperature\n")
    with pytest.raises(ValueError, match=r"other.csv:1:1: expected the header"):
        Recorder(other)


# ------------------------------------------------------- the loop, scripted
class FakePortError(OSError):
    pass


class ScriptedPort:
    """Yields the given chunks, then raises (cable pulled) or KeyboardInterrupt (Ctrl-C)."""

    def __init__(self, chunks: list[bytes], end: BaseException):
        self.chunks, self.end = list(chunks), end
        self.in_waiting = 0

    def read(self, n: int) -> bytes:
        if self.chunks:
            return self.chunks.pop(0)
        raise self.end

    def close(self) -> None:
        pass


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise OSError("not a real terminal")


def lines_of(*msgs: dict) -> bytes:
    import json

    return b"".join(json.dumps(m, separators=(",", ":")).encode() + b"\n" for m in msgs)


def test_a_lost_port_is_reported_retried_with_backoff_and_the_session_appends(tmp_path):
    first = lines_of(STATUS, ALERT)
    # the cable is pulled in the middle of a line: that fragment is dropped, never recorded
    ports = [ScriptedPort([first[:10], first[10:], b'{"t":1767573300,"ev'], FakePortError(5, "Input/output error")),
             ScriptedPort([lines_of(CLEAR, {"t": 1767573600, "event": "fault", "reason": "dht_error"})],
                          KeyboardInterrupt())]
    attempts = iter([ports[0], FileNotFoundError(2, "gone"), FileNotFoundError(2, "gone"),
                     FileNotFoundError(2, "gone"), ports[1]])
    sleeps: list[float] = []

    def opener(port, baud, timeout):
        assert (port, baud) == ("/dev/ttyUSB0", 115200)
        nxt = next(attempts)
        if isinstance(nxt, BaseException):
            raise nxt
        return nxt

    out = io.StringIO()
    csv = tmp_path / "s.csv"
    rc = monitor(Session("/dev/ttyUSB0", 115200, retry_initial_s=0.25, retry_max_s=0.5, record=csv), out=out,
                 opener=opener, sleep=sleeps.append, clock=lambda: 0.0)
    text = out.getvalue()
    assert rc == 0
    assert sleeps == [0.25, 0.5, 0.5]
    assert "connection lost" in text and "1 rows recorded so far are on disk" in text
    assert "incomplete line (19 bytes) was dropped" in text and "reconnected to /dev/ttyUSB0" in text
    assert "\x1b" not in text  # not a terminal: plain
    assert csv.read_text().splitlines() == [CSV_HEADER, "2026-01-05 00:04:00,24.1,40.2",
                                            "2026-01-05 00:40:00,-999,-999"]


def test_gives_up_after_give_up_s_when_configured(tmp_path):
    now = [0.0]

    def opener(port, baud, timeout):
        raise FakePortError(2, "No such file or directory")

    def sleep(s):
        now[0] += s

    out = io.StringIO()
    rc = monitor(Session("/dev/ttyUSB9", 9600, retry_initial_s=1.0, retry_max_s=4.0, give_up_s=10.0), out=out,
                 opener=opener, sleep=sleep, clock=lambda: now[0])
    assert rc == 1 and "giving up" in out.getvalue() and now[0] == 1 + 2 + 4 + 4


def test_terminal_view_has_a_fixed_header_and_colours(tmp_path):
    out = FakeTTY()
    monitor(Session("/dev/ttyUSB0", 115200), out=out,
            opener=lambda *a: ScriptedPort([lines_of(STATUS, ALERT)], KeyboardInterrupt()))
    text = out.getvalue()
    assert "\x1b[6;24r" in text  # scroll region under the header (24 rows when the size is unknown)
    assert "\x1b[1m\x1b[31m" in text and "ALERT ACTIVE" in text and "latest: 2026-01-05 00:34:00" in text
    assert text.endswith("\x1b[r\x1b[24;1H\n")  # the terminal is given back


def test_ingest_reads_a_recording_unchanged_with_conf_data_recorded(tmp_path):
    from tinyad.data.csvlog import read_logs
    from tinyad.config import load
    from tinyad.params import compose

    csv = tmp_path / "session-1.csv"
    rec = Recorder(csv)
    msgs = [{**STATUS, "event": "reading", "t": 1767571200 + 60 * i, "temp": 24.0 + i / 10} for i in range(5)]
    msgs[2] = {"t": msgs[2]["t"], "event": "reading", "temp": None, "hum": None, "reason": "nan"}
    msgs[3] = {"t": msgs[3]["t"], "event": "reading", "temp": None, "hum": None, "reason": "dht_error"}
    for m in msgs:
        rec.write(csv_row(m))
    rec.close()
    compose(["data=recorded", f"data.csv.paths=[{csv}]"], conf_dir=ROOT / "conf", out=tmp_path / "params.yaml")
    cfg = load(tmp_path / "params.yaml")
    df, _report = read_logs(cfg.data.csv, cfg.data.period_s)
    assert [str(t) for t in df["timestamp"]] == [f"2026-01-05 00:0{i}:00" for i in range(5)]
    assert list(df["fault"]) == ["", "", "nan", "dht_error", ""]
    assert df["temperature"].tolist()[:2] == [24.0, 24.1] and df["temperature"].tolist()[4] == 24.4
    assert math.isnan(df["temperature"].tolist()[2]) and df["humidity"].tolist()[0] == 40.2


# ------------------------------------------------ log mode of the firmware
def test_log_mode_reference_prints_one_reading_line_a_reading():
    from tinyad.device.alerts import AlertRules, RawReading

    rules = AlertRules(2, 2, 10, 200, 280, 300, 500)
    raws = [RawReading(60 * i, t, 40.0) for i, t in enumerate([24.0, 24.1, 24.2, float("nan"), 24.0, 24.1])]
    scores = [None, 20, 20, None, 0, 0]  # two model readings in a row raise the alert
    lines = firmware_lines(raws, scores, rules, status_every=1, mode="log")
    assert [ln["event"] for ln in lines] == ["reading", "reading", "alert", "reading", "reading", "reading",
                                             "clear", "reading"]
    assert lines[4] == {"t": 180, "event": "reading", "temp": None, "hum": None, "reason": "nan"}
    assert lines[3]["alert"] is True and lines[7]["alert"] is False
    # alert mode on the same readings: the same alert/clear lines, status/fault instead of reading
    alert_mode = firmware_lines(raws, scores, rules, status_every=1)
    assert [ln for ln in alert_mode if ln["event"] in ("alert", "clear")] == \
        [ln for ln in lines if ln["event"] in ("alert", "clear")]
    with pytest.raises(ValueError, match="mode"):
        firmware_lines(raws, scores, rules, 1, mode="stream")


def test_log_mode_param_becomes_a_build_flag():
    from tinyad.board.firmware_build import build_flags
    from tinyad.config import FirmwareConfig

    cfg = FirmwareConfig(envs=["host"], dht_pin=4, led_pin=2, buzzer_pin=25, baud=115200, status_every=10,
                         sleep="light", mode="log")
    assert build_flags("host", cfg) == "-DTINYAD_LOG_MODE=1"
    assert build_flags("esp32dev", cfg) == "-DTINYAD_SLEEP_MODE=1 -DTINYAD_LOG_MODE=1"
    from tinyad.config import ConfigError

    with pytest.raises(ConfigError, match="firmware.mode"):
        FirmwareConfig(envs=["host"], dht_pin=4, led_pin=2, buzzer_pin=25, baud=115200, status_every=10,
                       sleep="none", mode="stream")


@pytest.mark.slow
def test_log_mode_firmware_matches_the_python_reference_and_replays_to_itself(host_build, generated_dir):
    rows = synthetic_rows(seed=3, n=600)
    consts = config_constants(generated_dir)
    use_humidity = bool(consts.get("TINYAD_USE_HUMIDITY", 1))
    got = run_host_firmware(host_build.program, rows, args=["--mode", "log"])
    want = firmware_lines(raw_readings(rows), firmware_scores(host_build.program, rows, use_humidity),
                          rules_from_generated(consts), consts["TINYAD_STATUS_EVERY"], use_humidity, mode="log")
    assert got == want
    assert sum(ln["event"] == "reading" for ln in got) == len(rows)
    assert {ln["reason"] for ln in got if ln.get("reason")} >= {"nan", "dht_error", "impossible"}
    text = "".join(__import__("json").dumps(ln, separators=(",", ":")) + "\n" for ln in got)
    again = subprocess.run([str(host_build.program), "--mode", "log"], input=text, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stderr
    assert again.stdout == text


@pytest.mark.slow
def test_log_mode_build_flag_makes_log_the_default(generated_dir, tmp_path):
    fw = ROOT / "firmware"
    exe = tmp_path / "program"
    sources = [*sorted((fw / "lib" / "tinyad").glob("*.c")), *sorted((fw / "src" / "host").glob("*.c")),
               *sorted(generated_dir.glob("*.c"))]
    subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-DTINYAD_LOG_MODE=1",
                    f"-I{fw / 'lib' / 'tinyad'}", f"-I{fw / 'src' / 'host'}", f"-I{generated_dir}",
                    *map(str, sources), "-lm", "-o", str(exe)], check=True, capture_output=True, timeout=300)
    data = "0,24.0,40.0\n60,,\n"
    log = subprocess.run([str(exe)], input=data, capture_output=True, text=True, timeout=60).stdout
    assert [__import__("json").loads(ln)["event"] for ln in log.splitlines()] == ["reading", "reading"]
    alert = subprocess.run([str(exe), "--mode", "alert", "--status-every", "1"], input=data, capture_output=True,
                           text=True, timeout=60).stdout
    assert [__import__("json").loads(ln)["event"] for ln in alert.splitlines()] == ["status", "fault"]


# ------------------------------------------- the recorder on a pseudo-terminal
class Recording:
    """``python -m tinyad.board.serial_monitor --record`` as a subprocess; its output lines in a queue."""

    def __init__(self, port: Path, csv: Path):
        # The user stops the recorder with Ctrl-C in a terminal, where SIGINT is at its default. A test run
        # started in the background (`make test &`, nohup in a script) has SIGINT ignored, and an ignored
        # signal stays ignored in a child, so SIGINT would not stop it. A handled signal is reset to its
        # default in a child, so a handler here while the child starts gives it the terminal's SIGINT.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tinyad.board.serial_monitor", "--port", str(port), "--baud", "115200",
                 "--record", str(csv), "--params", str(ROOT / "params.yaml"), "--retry-initial", "0.05",
                 "--retry-max", "0.2"],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        finally:
            signal.signal(signal.SIGINT, previous)
        self.lines: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        self._pumper = threading.Thread(target=self._pump, daemon=True)
        self._pumper.start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._q.put(line.rstrip("\n"))

    def wait_for(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.05)
            except queue.Empty:
                assert self.proc.poll() is None, f"the recorder exited {self.proc.returncode}: {self.lines[-20:]}"
                continue
            self.lines.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no {needle!r} from the recorder within {timeout} s; last lines {self.lines[-20:]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        # the process has exited, but its last lines may still be in the pipe: the pump ends at EOF
        self._pumper.join(timeout=10)
        while not self._q.empty():
            self.lines.append(self._q.get())
        return rc


class FakeUsbPort:
    """A pty whose slave a symlink (standing for /dev/ttyUSB0) points at."""

    def __init__(self, link: Path):
        self.link = link
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.symlink(os.ttyname(self.slave), link)

    def pull_the_cable(self) -> None:
        os.close(self.master)
        os.close(self.slave)
        self.link.unlink()


def wait_rows(csv: Path, n: int, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    rows: list[str] = []
    while time.monotonic() < deadline:
        rows = csv.read_text().splitlines()[1:] if csv.exists() else []
        if len(rows) >= n:
            return rows
        time.sleep(0.02)
    raise AssertionError(f"{csv}: {len(rows)} rows after {timeout} s, expected {n}")


def expected_rows(rows, use_humidity: bool) -> list[str]:
    """What the recorder must write for these fed readings (see tinyad/board/serial_monitor.py)."""
    from datetime import datetime, timezone

    out = []
    for r in raw_readings(rows):
        stamp = datetime.fromtimestamp(r.t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        fault, t10, h10 = check_sample(r.temp_c, r.humidity, r.status, use_humidity)
        if fault:
            cell = "-999" if fault == "dht_error" else ""
            out.append(f"{stamp},{cell},{cell}")
        else:
            out.append(f"{stamp},{t10 / 10:.1f}," + ("" if h10 is None else f"{h10 / 10:.1f}"))
    return out


def feed(program: Path, rows, port: FakeUsbPort) -> None:
    """The host firmware in log mode, its serial output on the pty (the 'USB cable')."""
    text = "timestamp,temperature,humidity\n" + "".join(f"{t},{a},{b}\n" for t, a, b in rows)
    proc = subprocess.run([str(program), "--mode", "log"], input=text.encode(), stdout=port.master,
                          stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]


@pytest.mark.slow
def test_recorder_on_a_pty_records_what_the_firmware_was_fed_and_survives_a_pulled_cable(
        host_build, generated_dir, tmp_path):
    use_humidity = bool(config_constants(generated_dir).get("TINYAD_USE_HUMIDITY", 1))
    rows = synthetic_rows(seed=21, n=300)
    first, second = rows[:170], rows[170:]
    link, csv = tmp_path / "ttyUSB0", tmp_path / "raw" / "session-test.csv"
    port = FakeUsbPort(link)
    rec = Recording(link, csv)
    try:
        rec.wait_for("connected to")
        feed(host_build.program, first, port)
        got_first = wait_rows(csv, len(first))
        assert got_first == expected_rows(first, use_humidity)  # on disk while the recorder still runs
        port.pull_the_cable()
        lost = rec.wait_for("connection lost")
        assert f"{len(first)} rows recorded so far are on disk" in lost
        rec.wait_for("cannot open")  # the port is gone: it retries
        port = FakeUsbPort(link)  # the cable is back: a new device behind the same path
        rec.wait_for("reconnected to")
        feed(host_build.program, second, port)
        got = wait_rows(csv, len(rows))
    finally:
        rc = rec.stop()
    assert rc == 0
    assert csv.read_text().splitlines() == [CSV_HEADER, *expected_rows(rows, use_humidity)]
    assert got == expected_rows(rows, use_humidity)
    assert any("stopped" in ln and f"{len(rows)} rows" in ln for ln in rec.lines)
    faults = [r for r in got if r.endswith(",,") or r.endswith(",-999,-999")]
    assert len(faults) >= 3  # the session had failed reads, recorded as the ingest convention says


# ------------------------------------------ issue 13: the recorder's append, long lines
ROW0, ROW1 = "2026-01-05 00:00:00,24.0,40.0", "2026-01-05 00:04:00,24.1,40.2"


def test_appending_to_a_file_without_a_final_newline_adds_one_instead_of_gluing_rows(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(f"{CSV_HEADER}\n{ROW0}")  # last line without a line end (edited by hand, cut off)
    out = io.StringIO()
    rc = monitor(Session("/dev/ttyUSB0", 115200, record=path), out=out,
                 opener=lambda *a: ScriptedPort([lines_of(STATUS)], KeyboardInterrupt()))
    assert rc == 0
    assert path.read_text() == f"{CSV_HEADER}\n{ROW0}\n{ROW1}\n"
    assert "its last line had no line end; added one" in out.getvalue()
    # and the file reads at ingest, every row
    from tinyad.config import CsvConfig
    from tinyad.data.csvlog import read_log

    cfg = CsvConfig(paths=[], timestamp_col="timestamp", temperature_col="temperature", humidity_col="humidity",
                    label_col="", temperature_unit="C", timestamp_format="%Y-%m-%d %H:%M:%S", delimiter=",",
                    resolution=0.1)
    assert list(read_log(path, cfg)["temperature"]) == [24.0, 24.1]


def test_a_header_without_a_newline_gets_no_second_header(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(CSV_HEADER)
    rec = Recorder(path)
    rec.write(ROW0)
    rec.close()
    assert path.read_text() == f"{CSV_HEADER}\n{ROW0}\n"


def test_an_incomplete_last_line_is_refused_and_the_file_left_as_it_was(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(f"{CSV_HEADER}\n{ROW0}\n2026-01-05 00:0")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"s.csv:3: the last line '2026-01-05 00:0' has no line end and is not "
                                         r"a complete row \(expected 3 fields like the header\)"):
        Recorder(path)
    assert path.read_bytes() == before


def test_record_into_a_directory_records_a_session_file_there_and_never_a_traceback(tmp_path, monkeypatch):
    from tinyad.board import serial_monitor as sm

    folder = tmp_path / "raw"
    folder.mkdir()
    seen = {}

    def fake_monitor(session, *a, **k):
        seen["record"] = session.record
        return 0

    monkeypatch.setattr(sm, "monitor", fake_monitor)
    assert sm.main(["--record", str(folder), "--params", str(ROOT / "params.yaml")]) == 0
    assert seen["record"].parent == folder and seen["record"].name.startswith("session-")
    with pytest.raises(ValueError, match="is a directory; expected a CSV file to record to"):
        Recorder(folder)
    monkeypatch.undo()
    unwritable = tmp_path / "ro"
    unwritable.write_text("")  # a file where a folder is expected: the recording cannot be created
    proc = subprocess.run([sys.executable, "-m", "tinyad.board.serial_monitor", "--record", str(unwritable / "s.csv"),
                           "--params", str(ROOT / "params.yaml"), "--port", str(tmp_path / "none"), "--give-up",
                           "0.01"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"serial_monitor: error: {unwritable}: cannot record there "
                                                "(File exists)"]


def test_line_max_is_the_firmware_bound():
    import re

    header = (ROOT / "firmware" / "src" / "host" / "sim_input.h").read_text()
    from tinyad.board.serial_monitor import LINE_MAX

    assert int(re.search(r"#define SIM_LINE_MAX (\d+)", header).group(1)) == LINE_MAX == 4096


def test_a_long_run_without_a_newline_is_dropped_bounded_and_the_next_line_kept(tmp_path):
    noise = b"\x00\xff" * (512 * 1024)  # 1 MiB of line noise without a newline, in 4 KiB reads
    chunks = [noise[i:i + 4096] for i in range(0, len(noise), 4096)] + [b"\n" + lines_of(STATUS)]
    out = io.StringIO()
    csv = tmp_path / "s.csv"
    rc = monitor(Session("/dev/ttyUSB0", 115200, record=csv), out=out,
                 opener=lambda *a: ScriptedPort(chunks, KeyboardInterrupt()))
    text = out.getvalue()
    assert rc == 0
    assert csv.read_text().splitlines() == [CSV_HEADER, ROW1]  # the valid line after the noise is kept
    assert f"dropped a line of {len(noise)} bytes without a line end (longer than 4096 bytes" in text
    assert len(text) < 4096  # the noise is not shown either
