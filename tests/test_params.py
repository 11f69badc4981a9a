"""params.yaml is the composition of conf/, and the schema rejects what it should."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tinyad.config import Config, ConfigError, load, load_dict
from tinyad.params import compose

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def raw_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_params_yaml_equals_composition_of_conf(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    fresh = compose(conf_dir=ROOT / "conf", out=tmp_path / "params.yaml")
    assert fresh == (ROOT / "params.yaml").read_text(), (
        "params.yaml has drifted from conf/: run `python -m tinyad.params`"
    )


def test_params_yaml_loads_into_the_schema():
    cfg = load(ROOT / "params.yaml")
    assert isinstance(cfg, Config)
    assert cfg.thresholds.temp_alarm == [20.0, 28.0]


def test_every_schema_field_has_a_value_in_conf(raw_params):
    # MISSING fields fail in load(); this checks that no section is silently absent
    sections = set(raw_params)
    assert sections == set(Config.__dataclass_fields__), sections ^ set(Config.__dataclass_fields__)


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("model", "hiddn"), [8], "model.hiddn"),
        (("data", "sim", "sed"), 3, "data.sim.sed"),
        (("nonsense",), 1, "nonsense"),
    ],
)
def test_unknown_key_names_the_full_key(raw_params, path, value, expected):
    raw = copy.deepcopy(raw_params)
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as err:
        load_dict(raw, source="params.yaml")
    assert expected in str(err.value)
    assert "params.yaml" in str(err.value)


def test_a_renamed_key_names_its_new_name(raw_params):
    raw = copy.deepcopy(raw_params)
    raw["alerts"]["clear_after"] = raw["alerts"].pop("clear_after_min")
    with pytest.raises(ConfigError, match=r"full key: alerts\.clear_after\); it is now alerts\.clear_after_min \(minutes"):
        load_dict(raw, source="params.yaml")


@pytest.mark.parametrize(
    "section, key, value, expected",
    [
        ("model", "epochs", "many", "model.epochs"),
        ("cluster", "k", 1, "cluster.k"),
        ("model", "activation", "sigmoidish", "model.activation"),
        ("data", "source", "ftp", "data.source"),
        ("split", "train", 0.9, "split"),
    ],
)
def test_wrong_value_names_the_key(raw_params, section, key, value, expected):
    raw = copy.deepcopy(raw_params)
    raw[section][key] = value
    with pytest.raises(ConfigError) as err:
        load_dict(raw)
    assert expected in str(err.value)


def test_missing_value_names_the_key(raw_params):
    raw = copy.deepcopy(raw_params)
    del raw["model"]["learning_rate"]
    with pytest.raises(ConfigError, match="model.learning_rate"):
        load_dict(raw)


def test_override_typo_fails_at_composition(tmp_path, monkeypatch):
    """What `dvc exp run -S model.hiddn=[8]` does: Hydra refuses the unknown key."""
    monkeypatch.chdir(ROOT)
    with pytest.raises(Exception) as err:
        compose(["model.hiddn=[8]"], conf_dir=ROOT / "conf", out=tmp_path / "p.yaml")
    assert "hiddn" in str(err.value)
    assert not (tmp_path / "p.yaml").exists()


def test_override_changes_only_its_key(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    compose(["model.hidden=[32,16]", "cluster.k=5"], conf_dir=ROOT / "conf", out=tmp_path / "p.yaml")
    cfg = load(tmp_path / "p.yaml")
    base = load(ROOT / "params.yaml")
    assert cfg.model.hidden == [32, 16] and cfg.cluster.k == 5
    assert cfg.data == base.data and cfg.quantize == base.quantize
