"""Small labelled room logs, as the interim readings table holds them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_readings(days: float = 3.0, seed: int = 0, period_s: int = 60) -> pd.DataFrame:
    """A small labelled room: daily cycle, noise, a few anomalies of each type, a few faults."""
    rng = np.random.default_rng(seed)
    n = int(days * 86400 // period_s)
    ts = pd.date_range("2026-01-05", periods=n, freq=f"{period_s}s")
    sod = (ts.hour * 3600 + ts.minute * 60).to_numpy()
    temp = 24.0 + 0.8 * np.sin(2 * np.pi * sod / 86400) + rng.normal(0, 0.1, n)
    hum = 40.0 + rng.normal(0, 0.4, n)
    label = np.zeros(n, dtype=np.int8)
    atype = np.array(["none"] * n, dtype=object)
    event = np.full(n, -1, dtype=np.int32)
    per_day = 1440 * 60 // period_s
    eid = 0
    for d in range(int(days)):
        base = d * per_day
        for kind, start, length in (("point", 200, 2), ("contextual", 600, 60), ("collective", 1000, 120), ("point", 1300, 1)):
            s = base + start + int(rng.integers(0, 40))
            e = min(s + length, n)
            if kind == "point":
                temp[s:e] += 8.0
            elif kind == "contextual":
                temp[s:e] += 5.0
            else:
                temp[s:e] += np.linspace(0, 3.0, e - s)
            label[s:e] = 1
            atype[s:e] = kind
            event[s:e] = eid
            eid += 1
    temp = np.round(temp, 1)
    hum = np.round(hum, 1)
    fault = np.array([""] * n, dtype=object)
    drop = rng.random(n) < 0.003
    drop &= label == 0
    fault[drop] = "missing"
    temp[drop] = np.nan
    hum[drop] = np.nan
    return pd.DataFrame(
        {
            "timestamp": ts,
            "temperature": temp,
            "humidity": hum,
            "fault": pd.Series(fault, dtype="string"),
            "label": label,
            "anomaly_type": pd.Series(atype, dtype="string"),
            "event_id": event,
        }
    )


def room_log(days: float = 3.0, seed: int = 0) -> pd.DataFrame:
    """Readings with labelled anomalies, as the interim table holds them."""
    rng = np.random.default_rng(seed)
    n = int(days * 1440)
    ts = pd.date_range("2026-01-05", periods=n, freq="60s")
    hour = ts.hour.to_numpy() + ts.minute.to_numpy() / 60
    temp = 24.0 + 1.2 * np.cos(2 * np.pi * (hour - 15) / 24) + rng.normal(0, 0.08, n)
    hum = 40.0 - 3.0 * np.cos(2 * np.pi * (hour - 15) / 24) + rng.normal(0, 0.3, n)
    label = np.zeros(n, np.int8)
    kind = np.array(["none"] * n, dtype=object)
    event = np.full(n, -1, np.int32)
    e = 0
    for day in range(int(days)):
        base = day * 1440
        for start, length, what in ((base + 600, 2, "point"), (base + 1000, 3, "point"),
                                    (base + 120, 60, "contextual"), (base + 1200, 90, "collective")):
            sl = slice(start, start + length)
            if what == "point":
                temp[sl] += 8.0
            elif what == "contextual":
                temp[sl] += 2.0
            else:
                temp[sl] += np.linspace(0.0, 3.5, length)
            label[sl], kind[sl], event[sl] = 1, what, e
            e += 1
    temp = np.round(temp, 1)
    hum = np.round(hum, 1)
    fault = np.array([""] * n, dtype=object)
    fault[[50, 51, 2000, 3000]] = "missing"
    temp[[50, 51, 2000, 3000]] = np.nan
    return pd.DataFrame({
        "timestamp": ts, "temperature": temp, "humidity": hum, "fault": fault,
        "label": label, "anomaly_type": kind, "event_id": event,
    })


def home_assistant_export(seed: int = 11, minutes: int = 1440, outage: bool = True,
                          decimals: int = 1) -> tuple[str, pd.DataFrame, pd.Timestamp]:
    """A Home Assistant history export of a room (``entity_id,state,last_changed``, UTC ``Z``
    times): its two sensors' lines when their value changes (temperature 0.1 deg C, humidity
    whole %RH; the temperature's ``decimals``), a desk lamp's line, and (``outage``) one
    ``unavailable`` temperature line.
    Returns the text, the readings the room gave every minute (UTC, as the device would have
    read them) and the outage's minute."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2026-01-05 00:00", periods=minutes, freq="1min", tz="UTC")
    day = np.sin(np.arange(minutes) / 1440 * 2 * np.pi)
    values = {"sensor.room_temperature": np.round(21 + 0.8 * day + rng.normal(0, 0.03, minutes), decimals),
              "sensor.room_humidity": np.round(45 - 2 * day + rng.normal(0, 0.4, minutes), 0)}
    lines = []
    for name, v in values.items():
        keep = np.r_[True, v[1:] != v[:-1]]
        lines += [(t, name, f"{x:g}") for t, x in zip(idx[keep], v[keep])]
    at = idx[minutes * 5 // 12]
    lines.append((idx[minutes // 5], "light.desk", "on"))
    if outage:
        lines.append((at + pd.Timedelta(seconds=20), "sensor.room_temperature", "unavailable"))
    lines.sort(key=lambda r: (r[0], r[1]))
    text = "entity_id,state,last_changed\n" + "".join(
        f"{name},{x},{t.strftime('%Y-%m-%dT%H:%M:%S.000Z')}\n" for t, name, x in lines)
    readings = pd.DataFrame({"timestamp": idx.tz_localize(None), "temperature": values["sensor.room_temperature"],
                             "humidity": values["sensor.room_humidity"]})
    return text, readings, at.tz_localize(None)


def influxdb_export(minutes: int = 1440, seed: int = 12,
                    rooms: tuple[str, ...] = ("office",)) -> tuple[str, pd.DataFrame]:
    """An InfluxDB 2.x annotated CSV of rooms read every minute (tag ``room``): the ``#group``,
    ``#datatype`` and ``#default`` annotations, then one table per room and field
    (temperature, humidity), each with its header line and a blank line after it, UTC ``Z``
    times.  Returns the text and the first room's readings (naive UTC)."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2026-01-05 00:00", periods=minutes, freq="1min", tz="UTC")
    day = np.sin(np.arange(minutes) / 1440 * 2 * np.pi)
    start, stop = idx[0].strftime("%Y-%m-%dT%H:%M:%SZ"), (idx[-1] + pd.Timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = ("#group,false,false,true,true,false,false,true,true,true\n"
            "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string\n"
            "#default,_result,,,,,,,,\n")
    first = None
    for r, room in enumerate(rooms):
        fields = {"temperature": np.round(21 + r + 0.8 * day + rng.normal(0, 0.1, minutes), 1),
                  "humidity": np.round(45 - 2 * day + rng.normal(0, 0.4, minutes), 1)}
        for f, (field, values) in enumerate(fields.items()):
            text += ",result,table,_start,_stop,_time,_value,_field,_measurement,room\n"
            text += "".join(f",,{2 * r + f},{start},{stop},{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{v:g},{field},dht22,{room}\n"
                            for t, v in zip(idx, values))
            text += "\n"
        first = first if first is not None else pd.DataFrame({"timestamp": idx.tz_localize(None), **fields})
    return text, first
