"""Hydra plugin hook: DVC imports every module under ``hydra_plugins/`` of the project
root before it composes ``conf/`` (``dvc exp run``; DVC's ``hydra.plugins_path``
defaults to the root), which registers the ``tinyad_preflight`` resolver.  Resolving
``preflight: ${tinyad_preflight:}`` of ``conf/config.yaml`` checks the whole
composition against ``tinyad/config.py`` (ranges and choices, not only the key names
that Hydra's struct mode checks), so a refused value never reaches ``params.yaml``.
"""

from tinyad.config import register_preflight

register_preflight()
