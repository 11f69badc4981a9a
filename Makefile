# Quick start (README): `make repro` runs the pipeline, `make test` runs the tests.
# Both set the machine up first and are safe to run again.
SHELL := /bin/bash
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: setup setup-test repro test params

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

## Set up, then `dvc repro` the default pipeline and say where the results are.
repro: setup
	dvc repro
	@python -m tinyad.tools.summary

## Set up (with the test tools), lint (ruff, the rules in pyproject.toml), then run
## the whole test suite.
test: setup-test
	ruff check .
	python -m pytest

## Rewrite params.yaml from conf/ after editing the Hydra tree.
params: setup
	python -m tinyad.params
