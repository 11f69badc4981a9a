"""Shared code of the TinyML anomaly-detection workbench.

Stages (``stages/``) read files and params and write files; the work is done by the
pure functions of this package, which take arrays and typed configs.
"""
