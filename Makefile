# Every target creates or refreshes .venv itself from constraints.txt, so a fresh clone needs only python3.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
comma := ,
EXTRAS ?= airflow,dlt,pandas,postgres,sandbox,cli,dashboard,dev
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)-$(subst $(comma),_,$(EXTRAS))
.PHONY: venv demo test lint fmt bench lock clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python -q -c constraints.txt -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	$(BIN)/python -m outlit_cli.demo

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	$(BIN)/python -m benchmarks

# Re-resolve the pinned versions after changing dependencies in pyproject.toml.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra all --extra snowflake --python-version 3.11 \
		-o constraints.txt --no-header --no-annotate

clean:
	rm -rf $(VENV) .airflow .pytest_cache .mypy_cache
