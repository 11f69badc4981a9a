"""Full-integer PTQ: int8 end to end, same bytes for a seed, the stage's files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tinyad.config import ModelConfig, QuantizeConfig
from tinyad.device.features import decide, dequantize_output, quantize_input

QCFG = QuantizeConfig(method="ptq", representative_samples=200, seed=3)


def mcfg(seed=5) -> ModelConfig:
    return ModelConfig(hidden=[8, 4], activation="relu", dropout=0.0, learning_rate=0.03, epochs=8, batch_size=64,
                       class_weight="balanced", early_stopping_patience=3, seed=seed)


def toy_data(n=600, f=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    y = (X[:, 0] - 0.7 * X[:, 2] > 1.0).astype(np.int8)
    return X, y


@pytest.fixture(scope="module")
def trained_twice():
    """Train + quantize the same tiny model twice with the same seeds."""
    from tinyad.learn.quantization import quantize_model
    from tinyad.learn.training import train_model

    X, y = toy_data()
    out = []
    for _ in range(2):
        res = train_model(X[:400], y[:400], X[400:500], y[400:500], mcfg())
        out.append((res.model, quantize_model(res.model, X[:400], X[500:], QCFG, 0.5)))
    return X, out


def test_same_seed_gives_the_same_tflite_bytes(trained_twice):
    _, ((_, a), (_, b)) = trained_twice
    assert a["tflite"] == b["tflite"]
    assert a["quant"] == b["quant"]


def test_every_tensor_is_integer_and_input_output_are_int8(trained_twice):
    from tinyad.device.runtime import make_interpreter

    _, ((_, q), _) = trained_twice
    it = make_interpreter(q["tflite"])
    assert it.get_input_details()[0]["dtype"] == np.int8
    assert it.get_output_details()[0]["dtype"] == np.int8
    details = it.get_tensor_details()
    assert details
    for d in details:
        # activations, weights, input, output int8; only biases may be int32 (1-D)
        assert d["dtype"] in (np.int8, np.int32), (d["name"], d["dtype"])
        if d["dtype"] == np.int32:
            assert len(d["shape"]) == 1, d["name"]
        scales = d["quantization_parameters"]["scales"]  # per-tensor or per-channel
        assert len(scales) >= 1 and (scales > 0).all(), d["name"]
    ops = {op["op_name"] for op in it._get_ops_details()}
    assert ops <= {"FULLY_CONNECTED", "LOGISTIC"}, ops


def test_int8_model_follows_the_float_model(trained_twice):
    from tinyad.device.runtime import predict_int8

    X, ((model, q), _) = trained_twice
    X_test = X[500:]
    p_float = model.predict(X_test.astype(np.float32), verbose=0).ravel()
    codes = predict_int8(q["tflite"], q["quant"], X_test)
    assert codes.dtype == np.int8
    p_int8 = dequantize_output(codes, q["quant"])
    assert np.abs(p_int8 - p_float).max() < 0.1
    agree = (decide(codes, q["quant"], 0.5) == (p_float > 0.5)).mean()
    assert agree == q["metrics"]["agreement"]
    assert agree > 0.9
    assert q["metrics"]["tflite_bytes"] == len(q["tflite"])


def test_run_int8_matches_one_row_at_a_time(trained_twice):
    from tinyad.device.runtime import make_interpreter, run_int8

    X, ((_, q), _) = trained_twice
    q_in = quantize_input(X[:20], q["quant"]["input"]["scale"], q["quant"]["input"]["zero_point"])
    batch = run_int8(q["tflite"], q_in)
    it = make_interpreter(q["tflite"])
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    single = []
    for row in q_in:
        it.set_tensor(inp["index"], row[None, :])
        it.invoke()
        single.append(int(it.get_tensor(out["index"]).ravel()[0]))
    assert batch.tolist() == single


def test_representative_rows_are_a_seeded_sample_of_train_rows():
    from tinyad.learn.quantization import representative_rows

    X = np.random.default_rng(0).normal(size=(500, 3))
    X[123, 1] = 40.0  # a rare extreme a small sample would miss
    a = representative_rows(X, QuantizeConfig("ptq", 10, 1))
    b = representative_rows(X, QuantizeConfig("ptq", 10, 1))
    c = representative_rows(X, QuantizeConfig("ptq", 10, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 10 <= len(a) <= 16
    np.testing.assert_array_equal(a.min(axis=0), X.min(axis=0).astype(np.float32))
    np.testing.assert_array_equal(a.max(axis=0), X.max(axis=0).astype(np.float32))
    assert (a == X[123].astype(np.float32)).all(axis=1).any()
    assert len(representative_rows(X, QuantizeConfig("ptq", 1000, 1))) == 500


def test_qat_is_refused_with_a_reason():
    from tinyad.config import ConfigError

    with pytest.raises(ConfigError, match="quantize.method: 'qat' is not available"):
        QuantizeConfig(method="qat", representative_samples=10, seed=0)


def test_quantize_stage_writes_tflite_quant_and_metrics(tmp_path, trained_twice):
    import os

    from tinyad.stage import stage_main

    main = stage_main("quantize")
    from tinyad.learn.training import save_model
    from tinyad.config import load
    from tinyad.device.features import Scaler, feature_names
    from tinyad.params import compose

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        compose(["quantize.representative_samples=100", "alerts.calibrate=false",  # a features-only dataset: no readings to replay
                 "features.names=[temp,hum,tod_sin,tod_cos,temp_std]"],
                conf_dir=os.path.join(root, "conf"), out=tmp_path / "params.yaml")
    finally:
        os.chdir(cwd)
    cfg = load(tmp_path / "params.yaml")
    names = feature_names(cfg.features)
    X, ((model, _), _) = trained_twice
    assert len(names) == X.shape[1]
    ds = pd.DataFrame(X, columns=names)
    ds["valid"] = True
    ds["split"] = ["train"] * 400 + ["val"] * 100 + ["test"] * 100
    ds.to_parquet(tmp_path / "ds.parquet")
    (tmp_path / "scaler.json").write_text(json.dumps(Scaler(features=names).fit(X[:400]).to_json()))
    save_model(model, tmp_path / "model.keras")
    args = ["--params", str(tmp_path / "params.yaml"), "--dataset", str(tmp_path / "ds.parquet"),
            "--scaler", str(tmp_path / "scaler.json"), "--model", str(tmp_path / "model.keras"),
            "--out", str(tmp_path / "m.tflite"), "--quant", str(tmp_path / "quant.json"), "--metrics", str(tmp_path / "q.json")]
    assert main(args) == 0
    quant = json.loads((tmp_path / "quant.json").read_text())
    assert set(quant) == {"input", "output"} and set(quant["input"]) == {"scale", "zero_point"}
    m = json.loads((tmp_path / "q.json").read_text())
    assert m["tflite_bytes"] == (tmp_path / "m.tflite").stat().st_size
    assert m["keras_bytes"] == (tmp_path / "model.keras").stat().st_size
    assert m["params"] == model.count_params() and m["test_rows"] == 100
    assert 0.0 <= m["agreement"] <= 1.0
