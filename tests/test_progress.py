"""Progress lines: a line every few epochs in training, time left in sweeps."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tinyad.tools import progress


def test_eta_line_says_how_many_points_are_done_and_the_time_left():
    assert progress.eta_line("point", 2, 4, 120.0) == "point 2/4 done, about 2 min left"
    assert progress.eta_line("point", 1, 4, 20.0) == "point 1/4 done, about 60 s left"
    assert progress.eta_line("trial", 4, 4, 7200.0) == "trial 4/4 done, all done in 2.0 h"


def test_every_n_gives_about_ten_lines():
    assert progress.every_n(60) == 6 and progress.every_n(5) == 1 and progress.every_n(101) == 11


@pytest.mark.slow
def test_keras_callback_prints_every_few_epochs_and_the_early_stop():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    out = io.StringIO()
    model.fit(x, y, validation_data=(x, y), epochs=20, verbose=0,
              callbacks=[progress.keras_epoch_lines(20, out=out)])
    lines = out.getvalue().splitlines()
    assert [ln.split(",")[0] for ln in lines] == [f"train: epoch {n}/20" for n in range(2, 21, 2)]
    assert "val_loss" in lines[0] and lines[0].endswith(" s)")
