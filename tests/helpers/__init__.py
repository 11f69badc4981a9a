"""What the tests share, in one place; no test module imports another.

- ``project``: the repository's paths (``ROOT``, ``FIRMWARE``), ``tool_env``, ``run``
  (a command that must succeed) and ``copy_worktree`` (a fresh clone of this work tree);
- ``readings``: small labelled room logs (``synthetic_readings``, ``room_log``);
- ``evaluate``: the evaluate stage's inputs from a tiny Keras model and its int8 twin
  (``base_config``, ``write_evaluate_inputs``);
- ``cbuild``: the generated model C compiled for the host or a microcontroller ISA,
  TFLite Micro, small Keras MLPs as int8 ``.tflite``;
- ``cfeatures``: the generated feature pipeline compiled for the host, the Python
  reference codes, the host simulator built with gcc;
- ``firmware``: the PlatformIO project copied and built, the host simulator fed CSV rows
  and compared with the Python reference line by line, a synthetic room's rows;
- ``tracking``: a fake finished pipeline run, MLflow searches, an ``mlflow server``;
- ``browser``: headless Chromium through chromedriver.

The fixtures several modules use (``pipeline``, ``generated_dir``, ``host_build``,
``workdir``) are in ``tests/conftest.py``.  Import helpers as ``from tests.helpers.x
import ...`` (pytest's ``pythonpath = ["."]`` puts the repository root on the path).
"""
