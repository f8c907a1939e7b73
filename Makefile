# One entry point for a fresh Debian machine: each target does its own setup.
#   make train   set up, then train Nielsen's network on MNIST (the main job)
#   make test    set up, then run the linter and the whole test suite
#   make notebook  set up, install Jupyter (the extra [notebook]) and open examples/notebooks
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup system browser train test lint bench notebook

# MNIST: the project's shared copy when it sits beside the checkout, else the loader's own
# search (cache, download, then the embedded sample).
MNIST_DIR ?= $(abspath $(wildcard ../shared/data/mnist))
ifneq ($(MNIST_DIR),)
export MNIST_DIR
endif

APT_INSTALL = $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq

# The Graphviz `dot` binary is a system package, not a Python one; Debian's own python3
# makes virtual environments only with python3-venv.
system:
	@command -v dot >/dev/null 2>&1 || { $(APT_INSTALL) graphviz; }
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { $(APT_INSTALL) python3-venv; }

# The draw-a-digit tests drive Debian's Chromium and run the page's JavaScript under node.
browser:
	@[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || { $(APT_INSTALL) chromium chromium-driver; }
	@command -v node >/dev/null 2>&1 || { $(APT_INSTALL) nodejs; }

$(BIN)/activate-stamp: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

setup: system $(BIN)/activate-stamp

train: setup
	$(BIN)/python examples/mnist.py $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup browser lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python benchmarks/speed.py $(ARGS)

# Jupyter is an extra, so that the base install stays small; ARGS go to Jupyter
# (ARGS=--no-browser on a machine without one).
$(BIN)/notebook-stamp: $(BIN)/activate-stamp
	$(BIN)/pip install -q -e '.[notebook]'
	touch $@

# Jupyter refuses to run as root unless told: as root (a container, CI), it is told.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

notebook: setup $(BIN)/notebook-stamp
	$(BIN)/jupyter notebook examples/notebooks $(ALLOW_ROOT) $(ARGS)
