"""Watch the device's serial line live, and record its readings as a CSV for ``ingest``.

Run from the project root::

    python -m tinyad.board.serial_monitor [--port /dev/ttyUSB0] [--baud 115200] \\
        [--record [data/raw/session-<timestamp>.csv]] [--params params.yaml]

Port and baud come from the command line, else from params ``serial.port`` and
``serial.baud`` (``0``: ``firmware.baud``, the rate the firmware was built with).

What it shows
-------------
Every line of the firmware (one JSON object a line, schema in ``firmware/README.md``)
as one readable line: readings and status lines plain, ``alert`` lines red, ``clear``
lines green, sensor faults yellow; anything that is not a firmware line (the ESP32's
boot messages) is shown as it came, dimmed.  On a terminal a fixed header (the top
lines, the rest scrolls under it) shows the port and its state, the latest reading,
whether an alert is active, counts and the file being recorded.  When the output is
not a terminal (a pipe, a log file), or with ``--plain``, it prints plain text lines
without colour or header.

What it records (``--record``)
------------------------------
One CSV row ``timestamp,temperature,humidity`` for every ``reading`` line (log mode,
``firmware.mode: log``: every reading) and every ``status`` and ``fault`` line (alert
mode: only what the firmware prints, i.e. every ``status_every``-th valid reading and
the faults; use log mode to collect training data).  ``alert``/``clear`` lines are not
readings of their own and are not recorded.

- ``timestamp``: the line's ``t`` (seconds, the device's local time) as
  ``YYYY-MM-DD HH:MM:SS``;
- ``temperature``, ``humidity``: as printed (0.1 resolution); humidity empty when the
  firmware prints ``null`` (temperature-only builds);
- a failed read: both fields empty (``ingest`` flags it ``nan``), except ``dht_error``,
  written ``-999,-999``, the value DHT libraries return, which ``ingest`` and the host
  simulator flag ``dht_error`` again.

The header is written when the file is new or empty; a session appends, after checking
the file: the same header (never a second one), and a final line end (added when the
last line is a complete row, else the file is refused).  ``--record DIR`` records to
``DIR/session-<timestamp>.csv``.  A line longer than ``LINE_MAX`` (4,096 bytes, the
firmware's bound) is dropped up to its newline, with a notice.  Every row is
flushed and fsync'ed as it arrives, so a crash or a pulled cable loses no recorded row.
``conf/data/recorded.yaml`` reads these files (``python -m tinyad.params data=recorded``).

A lost port
-----------
When the port vanishes mid-session (cable pulled: pyserial raises ``SerialException``
or ``OSError``), the monitor says so (with the rows recorded so far, all on disk),
drops the incomplete line it was receiving, and tries to open the port again after
``serial.retry_initial_s``, doubling the wait up to ``serial.retry_max_s``; when the
port returns it carries on, appending to the same file.  With ``serial.give_up_s`` > 0
it stops (exit status 1) after the port has been gone that long.  Ctrl-C ends a
session (exit status 0).

The pure parts (``parse_line``, ``csv_row``, ``format_event``, ``header_lines``,
``backoff_delays``) take and return plain values; ``monitor()`` runs the loop with an
injectable port opener, clock and sleep for the tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

__all__ = [
    "CSV_HEADER",
    "LINE_MAX",
    "RECORDED_EVENTS",
    "MonitorState",
    "Recorder",
    "backoff_delays",
    "csv_row",
    "default_record_path",
    "format_event",
    "header_lines",
    "main",
    "monitor",
    "parse_line",
]

CSV_HEADER = "timestamp,temperature,humidity"
# the longest line kept, in bytes without its line end: the firmware's own bound on a line
# (SIM_LINE_MAX in firmware/src/host/sim_input.h; tests/test_serial_monitor.py checks they agree).
# A longer run of bytes without a newline (line noise) is dropped up to the next newline.
LINE_MAX = 4096
RECORDED_EVENTS = ("reading", "status", "fault")
DHT_ERROR_CELL = "-999"  # what DHT libraries return on a failed read; ingest flags it dht_error

RED, GREEN, YELLOW, DIM, BOLD, RESET = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[2m", "\x1b[1m", "\x1b[0m"
HEADER_ROWS = 4


# ------------------------------------------------------------------ pure parts
def parse_line(text: str) -> dict[str, Any] | None:
    """A firmware line as a dict (a JSON object with ``t`` and ``event``), else None."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str) or not isinstance(obj.get("t"), int):
        return None
    return obj


def stamp(t: int) -> str:
    """Device seconds (local time counted from 1970-01-01) as ``YYYY-MM-DD HH:MM:SS``."""
    return datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{float(value):.1f}"


def csv_row(msg: dict[str, Any]) -> str | None:
    """The CSV row (without line end) a firmware line records, or None (not a reading)."""
    event = msg.get("event")
    if event not in RECORDED_EVENTS:
        return None
    reason = msg.get("reason")
    if event == "fault" or reason:
        cell = DHT_ERROR_CELL if reason == "dht_error" else ""
        return f"{stamp(msg['t'])},{cell},{cell}"
    return f"{stamp(msg['t'])},{_cell(msg.get('temp'))},{_cell(msg.get('hum'))}"


def _paint(text: str, colour: str, color: bool) -> str:
    return f"{colour}{text}{RESET}" if color else text


def _reading_text(msg: dict[str, Any]) -> str:
    hum = msg.get("hum")
    score = msg.get("score")
    parts = [f"{msg.get('temp')} C", "--- %RH" if hum is None else f"{hum} %RH",
             "score --" if score is None else f"score {score}"]
    rules = [text for name, text in (("model", "model"), ("threshold", "threshold"), ("stuck", "stuck sensor"))
             if msg.get(name)]
    if rules:
        parts.append("(" + " + ".join(rules) + ")")
    return "  ".join(parts)


def format_event(msg: dict[str, Any] | None, raw: str, color: bool) -> str:
    """One human-readable line for a received line (``msg`` None: not a firmware line)."""
    if msg is None:
        return _paint(f"device: {raw.rstrip()}", DIM, color)
    event = msg["event"]
    when = stamp(msg["t"])
    if event == "fault" or msg.get("reason"):
        return _paint(f"{when}  FAULT    sensor read failed: {msg.get('reason', '?')}", YELLOW, color)
    if event == "alert":
        return _paint(f"{when}  ALERT    {_reading_text(msg)}", BOLD + RED, color)
    if event == "clear":
        return _paint(f"{when}  CLEAR    {_reading_text(msg)}", GREEN, color)
    if event in ("reading", "status"):
        flag = "  [alert active]" if msg.get("alert") else ""
        return f"{when}  {event:<8} {_reading_text(msg)}{flag}"
    if event == "error":
        return _paint(f"{when}  ERROR    {msg.get('message', '')}", BOLD + RED, color)
    return f"{when}  {event:<8} {json.dumps(msg, separators=(',', ':'))}"


@dataclass
class MonitorState:
    """What the header shows; updated by ``update`` for every received line."""

    port: str
    connection: str = "connecting"
    latest: dict[str, Any] | None = None
    alert: bool | None = None  # None: not known yet
    readings: int = 0
    faults: int = 0
    alerts: int = 0
    recorded: int = 0
    record_path: str = ""

    def update(self, msg: dict[str, Any] | None) -> None:
        if msg is None:
            return
        event = msg["event"]
        if event == "fault" or msg.get("reason"):
            self.faults += 1
        elif event in ("reading", "status", "alert", "clear"):
            if event in ("reading", "status"):
                self.readings += 1
            self.latest = msg
        if event == "alert":
            self.alerts += 1
            self.alert = True
        elif event == "clear":
            self.alert = False
        elif event in ("reading", "status") and "alert" in msg and not msg.get("reason"):
            self.alert = bool(msg["alert"])


def header_lines(state: MonitorState, color: bool) -> list[str]:
    """The fixed header: port, latest reading, alert state, counts (HEADER_ROWS lines)."""
    conn = state.connection
    if conn != "connected":
        conn = _paint(conn, YELLOW, color)
    latest = "no reading yet"
    if state.latest is not None:
        latest = f"{stamp(state.latest['t'])}  {_reading_text(state.latest)}"
    if state.alert is None:
        alert = "alert state unknown (no status yet)"
    elif state.alert:
        alert = _paint("ALERT ACTIVE", BOLD + RED, color)
    else:
        alert = _paint("no alert", GREEN, color)
    rec = f"recording {state.recorded} rows to {state.record_path}" if state.record_path else "not recording"
    return [
        f"tinyad serial monitor  {state.port}  {conn}",
        f"latest: {latest}",
        f"{alert}   readings {state.readings}  faults {state.faults}  alerts {state.alerts}",
        f"{rec}   (Ctrl-C to stop)",
    ]


def backoff_delays(initial: float, maximum: float) -> Iterator[float]:
    """initial, 2 initial, 4 initial, ... capped at maximum."""
    delay = initial
    while True:
        yield min(delay, maximum)
        delay = min(delay * 2.0, maximum)


def default_record_path(record_dir: str | Path, now: datetime | None = None) -> Path:
    now = now or datetime.now()
    return Path(record_dir) / f"session-{now.strftime('%Y%m%d-%H%M%S')}.csv"


# ------------------------------------------------------------------ recorder
class Recorder:
    """Appends rows to a CSV; the header when the file is new or empty; fsync per row.

    Appending to an existing file checks it first: its first line must be the header
    (never a second one is written), and a last line without a line end (a file
    edited by hand, or cut off) gets one before the first new row, when it is a
    complete row (as many fields as the header; ``notes`` says so), else the file is
    refused: a new row glued to it would be lost at ingest.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.notes: list[str] = []
        if self.path.is_dir():
            raise ValueError(f"{self.path}: is a directory; expected a CSV file to record to "
                             "(or --record alone for <serial.record_dir>/session-<timestamp>.csv)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        end = self._check_existing() if self.path.exists() and self.path.stat().st_size > 0 else None
        self._fh = open(self.path, "a", encoding="utf-8", newline="")
        self.rows = 0
        if end is None:
            self._write(CSV_HEADER)
        elif end == "add-newline":
            self._fh.write("\n")
            self.notes.append(f"{self.path}: its last line had no line end; added one before the new rows")

    def _check_existing(self) -> str:
        """``ok`` or ``add-newline`` for a file to append to; ValueError if it is not a recording."""
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        first = lines[0].rstrip(b"\r").decode("utf-8", "replace")
        if first != CSV_HEADER:
            raise ValueError(f"{self.path}:1:1: expected the header {CSV_HEADER!r} to append to, got {first!r}")
        if data.endswith(b"\n"):
            return "ok"
        last = lines[-1].rstrip(b"\r").decode("utf-8", "replace")
        fields = CSV_HEADER.count(",") + 1
        if last.count(",") + 1 != fields:
            raise ValueError(
                f"{self.path}:{len(lines)}: the last line {last!r} has no line end and is not a complete row "
                f"(expected {fields} fields like the header); remove it or record to a new file"
            )
        return "add-newline"

    def _write(self, line: str) -> None:
        self._fh.write(line + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def write(self, row: str) -> None:
        self._write(row)
        self.rows += 1

    def close(self) -> None:
        self._fh.close()


# ------------------------------------------------------------------ display
class Display:
    """A terminal view (header + scrolling lines) or plain lines."""

    def __init__(self, out: TextIO, state: MonitorState, tty: bool):
        self.out, self.state, self.tty = out, state, tty
        self._rows = 0
        if tty:
            try:
                self._rows = os.get_terminal_size(out.fileno()).lines
            except (OSError, ValueError, AttributeError):
                self._rows = 24
            # clear, keep the top HEADER_ROWS + 1 lines fixed, scroll the rest
            out.write(f"\x1b[2J\x1b[{HEADER_ROWS + 2};{self._rows}r\x1b[{self._rows};1H")
            self.refresh()

    def refresh(self) -> None:
        if not self.tty:
            return
        lines = header_lines(self.state, color=True) + ["-" * 60]
        buf = "\x1b7"  # save cursor
        for i, line in enumerate(lines, start=1):
            buf += f"\x1b[{i};1H\x1b[2K{line}"
        self.out.write(buf + "\x1b8")  # restore cursor
        self.out.flush()

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
        self.refresh()

    def notice(self, text: str) -> None:
        """A message of the monitor itself (connection state)."""
        self.line(_paint(f"-- {text}", YELLOW, self.tty) if self.tty else f"-- {text}")

    def close(self) -> None:
        if self.tty:
            self.out.write(f"\x1b[r\x1b[{self._rows};1H\n")
            self.out.flush()


# ------------------------------------------------------------------ the loop
@dataclass
class Session:
    """Options of one monitoring session (from params and the command line)."""

    port: str
    baud: int
    read_timeout_s: float = 0.5
    retry_initial_s: float = 0.5
    retry_max_s: float = 8.0
    give_up_s: float = 0.0
    record: Path | None = None
    plain: bool = False


def _open_serial(port: str, baud: int, timeout: float):
    import serial

    return serial.Serial(port, baud, timeout=timeout)


def _port_errors() -> tuple[type[BaseException], ...]:
    import serial

    return (serial.SerialException, OSError)


def monitor(session: Session, out: TextIO = sys.stdout,
            opener: Callable[[str, int, float], Any] | None = None,
            clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> int:
    """Run until Ctrl-C (0) or until the port has been gone ``give_up_s`` (1)."""
    opener = opener or _open_serial
    errors = _port_errors()
    state = MonitorState(port=session.port)
    recorder = Recorder(session.record) if session.record is not None else None
    if recorder is not None:
        state.record_path = str(session.record)
    tty = not session.plain and hasattr(out, "isatty") and out.isatty()
    display = Display(out, state, tty)
    for note in recorder.notes if recorder is not None else ():
        display.notice(note)
    lost_since: float | None = None
    ever_connected = False
    try:
        while True:
            delays = backoff_delays(session.retry_initial_s, session.retry_max_s)
            port = None
            while port is None:
                try:
                    port = opener(session.port, session.baud, session.read_timeout_s)
                except errors as exc:
                    now = clock()
                    lost_since = now if lost_since is None else lost_since
                    gone = now - lost_since
                    if session.give_up_s > 0 and gone >= session.give_up_s:
                        display.notice(f"{session.port}: still unavailable after {gone:.1f} s, giving up ({exc})")
                        return 1
                    delay = next(delays)
                    state.connection = f"unavailable, retrying in {delay:g} s"
                    display.notice(f"{session.port}: cannot open ({exc}); retrying in {delay:g} s")
                    sleep(delay)
            state.connection = "connected"
            verb = "reconnected to" if ever_connected else "connected to"
            display.notice(f"{verb} {session.port} at {session.baud} baud"
                           + (f"; appending to {recorder.path}" if recorder is not None and ever_connected else ""))
            ever_connected = True
            lost_since = None
            pending = b""
            skipped = 0  # bytes of an over-long line dropped so far (its end not yet seen)
            try:
                while True:
                    chunk = port.read(max(1, getattr(port, "in_waiting", 0) or 1))
                    if not chunk:
                        continue  # read timeout: nothing arrived
                    pending += chunk
                    while True:
                        nl = pending.find(b"\n")
                        if nl < 0:
                            if len(pending) > LINE_MAX:  # bounded, as the firmware bounds its line
                                skipped += len(pending)
                                pending = b""
                            break
                        raw, pending = pending[:nl], pending[nl + 1:]
                        if skipped or len(raw) > LINE_MAX:
                            display.notice(f"dropped a line of {skipped + len(raw)} bytes without a line end "
                                           f"(longer than {LINE_MAX} bytes: line noise?)")
                            skipped = 0
                            continue
                        text = raw.decode("utf-8", "replace").rstrip("\r")
                        if not text.strip():
                            continue
                        msg = parse_line(text)
                        if recorder is not None and msg is not None:
                            row = csv_row(msg)
                            if row is not None:
                                recorder.write(row)
                                state.recorded = recorder.rows
                        state.update(msg)
                        display.line(format_event(msg, text, tty))
            except errors as exc:
                lost_since = clock()
                state.connection = "LOST"
                kept = f"; {recorder.rows} rows recorded so far are on disk in {recorder.path}" if recorder else ""
                dropped = f"; an incomplete line ({len(pending)} bytes) was dropped" if pending.strip() else ""
                display.notice(f"{session.port}: connection lost ({exc}){kept}{dropped}; "
                               f"reconnecting (retry after {session.retry_initial_s:g} s, "
                               f"backing off up to {session.retry_max_s:g} s)")
                try:
                    port.close()
                except errors:
                    pass
    except KeyboardInterrupt:
        display.notice("stopped" + (f"; {recorder.rows} rows recorded in {recorder.path}" if recorder else ""))
        return 0
    finally:
        if recorder is not None:
            recorder.close()
        display.close()


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", help="serial device (default: params serial.port)")
    ap.add_argument("--baud", type=int, help="baud rate (default: params serial.baud, 0 = firmware.baud)")
    ap.add_argument("--record", nargs="?", const="", default=None, metavar="CSV",
                    help="record readings to this CSV (no path: <serial.record_dir>/session-<timestamp>.csv)")
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--plain", action="store_true", help="plain lines, no colour or header, even on a terminal")
    ap.add_argument("--retry-initial", type=float, help="first wait after a lost port, s (serial.retry_initial_s)")
    ap.add_argument("--retry-max", type=float, help="longest wait between attempts, s (serial.retry_max_s)")
    ap.add_argument("--give-up", type=float, help="stop after the port is gone this long, s; 0 never (serial.give_up_s)")
    args = ap.parse_args(argv)

    from tinyad.config import ConfigError, load

    try:
        cfg = load(args.params)
    except ConfigError as exc:
        print(f"serial_monitor: error: {exc}", file=sys.stderr)
        return 2
    sc = cfg.serial
    baud = args.baud if args.baud is not None else (sc.baud or cfg.firmware.baud)
    if baud <= 0:
        print(f"serial_monitor: error: --baud: expected a positive rate, got {baud}", file=sys.stderr)
        return 2
    record = None
    if args.record is not None:
        record = Path(args.record) if args.record else default_record_path(sc.record_dir)
        if record.is_dir():  # --record DIR: a new session file in that folder
            record = default_record_path(record)
    session = Session(
        port=args.port or sc.port, baud=baud, read_timeout_s=sc.read_timeout_s,
        retry_initial_s=args.retry_initial if args.retry_initial is not None else sc.retry_initial_s,
        retry_max_s=args.retry_max if args.retry_max is not None else sc.retry_max_s,
        give_up_s=args.give_up if args.give_up is not None else sc.give_up_s,
        record=record, plain=args.plain,
    )
    if session.retry_initial_s <= 0 or session.retry_max_s < session.retry_initial_s:
        print("serial_monitor: error: expected 0 < --retry-initial <= --retry-max", file=sys.stderr)
        return 2
    try:
        return monitor(session)
    except ValueError as exc:  # e.g. appending to a file that is not a recording
        print(f"serial_monitor: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the recording cannot be opened (permissions, a missing drive)
        where = exc.filename or session.record
        print(f"serial_monitor: error: {where}: cannot record there ({exc.strerror or exc})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
