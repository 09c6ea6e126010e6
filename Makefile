# Territoire: two commands on a fresh Debian machine.
#   make demo   runs the whole chain locally (emulated nodes, private Mosquitto, ...)
#   make test   runs every test, the linters and the type checkers
# Every install step lives here: Debian packages, the virtualenv, pinned Python packages.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STUBS  := $(VENV)/mpy-stubs
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# qemu-user-static, debootstrap, debian-archive-keyring: the emulated Raspberry Pi (docs/hil.md)
APT_PACKAGES := mosquitto mosquitto-clients chromium qemu-user-static debootstrap debian-archive-keyring

.PHONY: demo test venv lock system npm vendor pi-image lint typecheck typecheck-firmware pytest clean

demo: venv
	$(BIN)/territoire demo

test: venv lint typecheck pytest

# Debian packages, installed only when missing (apt-get update once, first).
system:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every Python package comes from a lock with hashes (requirements/*.txt, made by `make lock`):
# pip installs exactly those files or stops. The project itself is installed editable, built by
# the locked setuptools (no build isolation, so nothing unhashed is fetched for the build).
$(VENV)/.installed: $(BIN)/python requirements/dev.txt requirements/firmware-stubs.txt pyproject.toml
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/pip check -q
	$(BIN)/pip install -q --disable-pip-version-check --require-hashes --no-deps --upgrade \
	  --target $(STUBS) -r requirements/firmware-stubs.txt
	touch $@

# Refresh the locks after editing requirements/*.in (or to take newer transitive releases):
#   make lock            then review `git diff requirements/` and run `make test`
# The gateway's lock (what the Pi installs) is resolved under the dev lock's versions, so the Pi
# runs exactly what the tests ran (tests/test_lock.py checks both).
PIP_COMPILE := $(BIN)/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-find-links --no-emit-index-url --no-emit-trusted-host
lock: $(VENV)/.installed
	cd requirements && ../$(PIP_COMPILE) --upgrade --output-file dev.txt dev.in
	cd requirements && grep -E '^[A-Za-z0-9_.-]+==' dev.txt | sed 's/ \\$$//' > dev-versions.txt \
	  && ../$(PIP_COMPILE) --upgrade -c dev-versions.txt --output-file gateway.txt gateway.in; \
	  status=$$?; rm -f dev-versions.txt; exit $$status
	cd requirements && ../$(PIP_COMPILE) --upgrade --output-file firmware-stubs.txt firmware-stubs.in

# axe-core, injected by the dashboard's browser tests (package.json, package-lock.json);
# npm comes with Node.js, or from Debian's npm package where Node.js came without it
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund
	touch $@

npm: node_modules/.installed

# Leaflet (the public map) is served by the fleet from fleet/static/vendor/leaflet, a committed
# copy of the locked npm package's built files and its BSD-2-Clause licence: a deployed fleet
# needs no node_modules. After changing its version in package.json: `make vendor`, commit the
# copy (tests/fleet_web/test_vendor.py checks it equals the locked package).
LEAFLET_VENDOR := fleet/static/vendor/leaflet
vendor: node_modules/.installed
	rm -rf $(LEAFLET_VENDOR)
	mkdir -p $(LEAFLET_VENDOR)/images
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
	  node_modules/leaflet/LICENSE $(LEAFLET_VENDOR)/
	cp node_modules/leaflet/dist/images/*.png $(LEAFLET_VENDOR)/images/

venv: system $(VENV)/.installed npm

# The emulated Raspberry Pi in which the gateway's HIL scenario runs (hil_tests/
# test_gateway_qemu.py): Debian bookworm arm64 from the Debian mirror apt uses, the gateway's
# aarch64 wheels from PyPI; cached in ~/.cache/territoire/pi-image/<key>, rebuilt when
# requirements/gateway.txt or tools/pi_image/ change (about 35 s cold).
pi-image: venv
	$(BIN)/territoire pi-image build

lint: venv
	$(BIN)/ruff check .

typecheck: venv typecheck-firmware
	$(BIN)/mypy

typecheck-firmware: venv
	cd firmware && MYPYPATH=$(abspath $(STUBS)):. ../$(BIN)/mypy --config-file mypy.ini \
	  --custom-typeshed-dir $(abspath $(STUBS)) $$(find . -name '*.py' | sort)

# The unit and integration tests on both cores (one worker per core; a file's tests stay in one
# worker, with its module fixtures); the HIL scenarios then one at a time, as their timings
# assume the machine's share of one scenario.
pytest: venv pi-image
	$(BIN)/python -m pytest -n 2 --dist loadfile tests
	$(BIN)/python -m pytest hil_tests

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache node_modules
