# The two commands a newcomer needs:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FONT   := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
CHROMIUM := /usr/bin/chromium
WEB_ASSETS := kiemchung/web/assets
# The security lint of deploy/k8s (tests/deploy): checkov pins versions that clash with ours,
# so it gets its own virtual environment.
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/checkov/bin/checkov

.PHONY: demo test install lint typecheck pytest asyncapi lock clean

$(STAMP): pyproject.toml requirements-test.lock $(WEB_ASSETS)/package-lock.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes -r requirements-test.lock
	$(BIN)/python -m pip install -q --no-deps -e '.[test]'
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "requirements-test.lock does not match pyproject.toml: run make lock"; exit 1; }
	@# The demo and the tests draw Vietnamese PDFs: they need a TrueType font with its glyphs.
	@test -f $(FONT) || test -n "$$KIEMCHUNG_PDF_FONT" || \
		{ command -v apt-get >/dev/null && (apt-get install -y -q fonts-dejavu-core >/dev/null 2>&1 || \
		  (apt-get update -q >/dev/null && apt-get install -y -q fonts-dejavu-core >/dev/null)); } || \
		echo "warning: install fonts-dejavu-core or set KIEMCHUNG_PDF_FONT to a TTF with Vietnamese glyphs"
	@# The web application's front-end assets (htmx, and axe-core for the accessibility tests)
	@# come from npm with a lock file; they are served from node_modules, never copied into git.
	cd $(WEB_ASSETS) && npm ci --no-audit --no-fund --silent
	@# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
	@test -x $(CHROMIUM) || { command -v apt-get >/dev/null && (apt-get install -y -q chromium >/dev/null 2>&1 || \
		  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)); } || \
		echo "warning: install chromium for the browser tests (tests/web)"
	@touch $(STAMP)

$(CHECKOV):
	@test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install -q "checkov==$(CHECKOV_VERSION)"

install: $(STAMP) $(CHECKOV)

demo: $(STAMP)
	$(BIN)/kiemchung demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy contracts criteria services kiemchung tests bench

pytest: $(STAMP) $(CHECKOV)
	@# pytest exits 5 when it collected nothing: that is a failure here, never a pass.
	$(BIN)/pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected: failing"; exit 1; fi; exit $$rc

test: lint typecheck pytest

# After changing dependencies in pyproject.toml: re-pin both lock files (commit them).
lock:
	@test -x $(BIN)/uv || $(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile -q pyproject.toml --python-version 3.11 --generate-hashes --index-url https://pypi.org/simple -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra test --python-version 3.11 --generate-hashes --index-url https://pypi.org/simple -o requirements-test.lock

asyncapi: $(STAMP)
	$(BIN)/kiemchung asyncapi --write contracts/asyncapi.json

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
