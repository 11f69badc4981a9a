"""The Keras MLP: shape from config, class weights, determinism, the stage's files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tinyad.config import ModelConfig


def mcfg(**kw) -> ModelConfig:
    base = dict(hidden=[6], activation="relu", dropout=0.0, learning_rate=0.01, epochs=4, batch_size=64,
                class_weight="balanced", early_stopping_patience=2, seed=5)
    base.update(kw)
    return ModelConfig(**base)


def toy_data(n=600, f=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    y = (X[:, 0] + 0.5 * X[:, 1] > 1.2).astype(np.int8)
    return X, y


def test_class_weights_balance_the_classes_and_one_class_fails():
    from tinyad.learn.training import class_weights

    w = class_weights(np.array([0] * 90 + [1] * 10), "balanced")
    assert w == {0: pytest.approx(100 / 180), 1: pytest.approx(100 / 20)}
    assert class_weights(np.array([0, 1]), "none") is None
    with pytest.raises(ValueError, match=r"one class only \(normal 5, anomalous 0\): no train reading is labelled "
                                         r"anomalous: add an evidence policy to cluster.policies"):
        class_weights(np.zeros(5), "balanced")
    with pytest.raises(ValueError, match=r"\(normal 0, anomalous 3\): every train reading is labelled anomalous: "
                                         r"check thresholds"):
        class_weights(np.ones(3), "none")


def test_model_follows_the_config():
    from tinyad.learn.training import build_model

    m = build_model(7, mcfg(hidden=[8, 4], dropout=0.2, activation="relu6"))
    dense = [l for l in m.layers if l.__class__.__name__ == "Dense"]
    assert [l.units for l in dense] == [8, 4, 1]
    assert dense[-1].activation.__name__ == "sigmoid"
    assert sum(l.__class__.__name__ == "Dropout" for l in m.layers) == 2
    assert m.count_params() == 7 * 8 + 8 + 8 * 4 + 4 + 4 + 1


def test_training_is_deterministic_for_a_seed_and_learns():
    from tinyad.learn.training import train_model

    X, y = toy_data()
    a = train_model(X[:400], y[:400], X[400:], y[400:], mcfg(epochs=15, learning_rate=0.03))
    b = train_model(X[:400], y[:400], X[400:], y[400:], mcfg(epochs=15, learning_rate=0.03))
    c = train_model(X[:400], y[:400], X[400:], y[400:], mcfg(epochs=15, learning_rate=0.03, seed=6))
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.model.get_weights(), c.model.get_weights()))
    pd.testing.assert_frame_equal(a.history, b.history)
    assert list(a.history.columns) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert a.history["loss"].iloc[-1] < a.history["loss"].iloc[0]
    assert a.metrics["val_accuracy"] > 0.8


def test_train_stage_writes_model_history_and_metrics(tmp_path):
    import keras

    from tinyad.stage import stage_main

    main = stage_main("train")
    from tinyad.config import load
    from tinyad.device.features import Scaler, feature_names
    from tinyad.params import compose

    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        compose(["model.epochs=3", "model.hidden=[4]"], conf_dir=os.path.join(root, "conf"), out=tmp_path / "params.yaml")
    finally:
        os.chdir(cwd)
    cfg = load(tmp_path / "params.yaml")
    names = feature_names(cfg.features)
    X, y = toy_data(n=500, f=len(names))
    ds = pd.DataFrame(X, columns=names)
    ds["valid"] = True
    ds.loc[::50, "valid"] = False
    ds["split"] = ["train"] * 300 + ["val"] * 100 + ["test"] * 100
    ds["pseudo_label"] = np.where(ds["valid"], y, -1).astype(np.int8)
    ds.to_parquet(tmp_path / "ds.parquet")
    sc = Scaler(features=names).fit(X[:300])
    (tmp_path / "scaler.json").write_text(json.dumps(sc.to_json()))
    ex = pd.DataFrame(X[:20] + 5.0, columns=names)  # the cluster stage's exposure rows: they train, never validate
    ex["valid"] = True
    ex["split"] = "train"
    ex["pseudo_label"] = np.int8(1)
    ex.to_parquet(tmp_path / "ex.parquet")
    rc = main(["--params", str(tmp_path / "params.yaml"), "--dataset", str(tmp_path / "ds.parquet"),
               "--scaler", str(tmp_path / "scaler.json"), "--exposure", str(tmp_path / "ex.parquet"),
               "--model", str(tmp_path / "m" / "model.keras"),
               "--metrics", str(tmp_path / "train.json"), "--plots", str(tmp_path / "plots")])
    assert rc == 0
    model = keras.models.load_model(tmp_path / "m" / "model.keras")
    assert model.input_shape == (None, len(names))
    hist = pd.read_csv(tmp_path / "plots" / "history.csv")
    assert list(hist.columns) == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert hist["epoch"].tolist() == [1, 2, 3]
    m = json.loads((tmp_path / "train.json").read_text())
    assert m["train_rows"] == 300 - 6 + 20 and m["val_rows"] == 100 - 2  # invalid rows are left out
    assert m["exposure_rows"] == 20
    assert m["params"] == model.count_params()


def test_train_stage_rejects_a_scaler_for_other_features():
    from tinyad.device.features import Scaler

    sc = Scaler.from_json({"features": ["temp"], "mean": [0.0], "scale": [1.0]})
    with pytest.raises(ValueError, match=r"s.json: fitted on features \['temp'\]"):
        sc.check_features(["temp", "hum"], source="s.json")


def test_stage_modules_do_not_import_tensorflow_at_top_level():
    import subprocess
    import sys

    code = "import sys, stages.train, stages.quantize; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_exposure_rows_teach_the_model_the_labelling_beyond_the_history(tmp_path):
    """A model trained on the history alone calls many readings normal that lie farther out
    than any it saw and that the labelling calls anomalous; with the cluster stage's exposure
    rows it follows the labelling there, at no cost on the history (fresh far-out readings,
    drawn with another seed, probe it)."""
    import copy

    from tests.helpers.readings import synthetic_readings
    from tests.test_cluster import stage_cfg
    from tinyad.data.clustering import build_dataset, exposure_rows
    from tinyad.device.features import dataset_inputs, feature_names
    from tinyad.learn.training import load_training_data, train_model

    cfg = stage_cfg(tmp_path)
    cfg.model.epochs = 20
    res = build_dataset(synthetic_readings(days=3, seed=4), cfg)
    names, ds = feature_names(cfg.features), res.dataset
    train = ds[ds["valid"] & (ds["split"] == "train")]
    other = copy.deepcopy(cfg)
    other.cluster.seed = cfg.cluster.seed + 7
    probe = exposure_rows(train[names].to_numpy(dtype=np.float64), train["temperature"].to_numpy(),
                          train["humidity"].to_numpy(), names, res.scaler, res.labeler, other)
    X_probe, _ = dataset_inputs(probe, res.scaler, "train")
    y_probe = probe["pseudo_label"].to_numpy() == 1
    X_val, r_val = dataset_inputs(ds, res.scaler, "val")
    y_val = ds["pseudo_label"].to_numpy()[r_val] == 1
    got = {}
    for name, exposure in (("history", None), ("exposure", res.exposure)):
        model = train_model(*load_training_data(ds, res.scaler, exposure), cfg.model).model
        on_probe = model.predict(X_probe, verbose=0).ravel() > 0.5
        on_val = model.predict(X_val, verbose=0).ravel() > 0.5
        got[name] = (on_probe[y_probe].mean(), (on_probe == y_probe).mean(), (on_val == y_val).mean())
    recall, agreement, val = got["exposure"]
    assert recall >= 0.9 and agreement >= 0.85, got
    assert recall >= got["history"][0] + 0.15, got  # the history alone leaves many far-out readings "normal"
    assert val >= got["history"][2] - 0.005, got
