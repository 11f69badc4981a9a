"""Readings in, the tables of ``docs/architecture.md`` out: the simulated room, CSV
logs and their checks, the interim table (``ingest``) and the labelled dataset
(``cluster``)."""
