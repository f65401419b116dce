# Two commands do everything on a fresh machine (see README):
#   make eval   - the main job: an eval of the tools and reward on the embedded offline model
#   make test   - lint (ruff), types (mypy), osmosis-local check, and the whole test suite
# Both create .venv and install pinned dependencies (constraints.txt) on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MODEL  ?= local/qwen2.5-1.5b
LIMIT  ?= 12
PYTEST_ARGS ?=

.PHONY: eval test test-fast lint typecheck check serve-tools serve-model setup clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$$(sed -n 's/^uv==//p' constraints.txt)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,local,inspect]' -c constraints.txt
	touch $(STAMP)

setup: $(STAMP)

eval: $(STAMP)
	$(BIN)/osmosis-local eval --mcp ./mcp -d test_data.jsonl \
		--eval-fn reward_fn.compute_reward:numbers_match_reward \
		--eval-fn reward_fn.tool_use_reward:tool_use_reward \
		--model $(MODEL) --limit $(LIMIT) -o results/eval.json

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: $(STAMP)
	$(BIN)/osmosis-local check --strict

test: lint typecheck check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: lint typecheck check
	$(BIN)/python -m pytest -m "not local_model" $(PYTEST_ARGS)

serve-tools: $(STAMP)
	$(BIN)/python mcp/main.py --host 127.0.0.1 --port 8080

serve-model: $(STAMP)
	$(BIN)/osmosis-local serve-model --model $(MODEL) --port 8000

clean:
	rm -rf $(VENV) .venv-fastmcp2 results .osmosis-local .pytest_cache
