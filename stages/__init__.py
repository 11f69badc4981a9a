"""DVC pipeline stages, one module a stage, named as in ``dvc.yaml`` and ``params.yaml``."""
