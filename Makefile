# Everything CI checks is `make test`; the whole connection story is `make demo`.
# Both do their own set-up from a fresh clone: the toolchain named in rust-toolchain.toml
# (with the wasm32 target, clippy and rustfmt) is installed by `rustup toolchain install`.

SHELL       := /bin/bash
CARGO       ?= cargo
WASM_TARGET := wasm32-unknown-unknown
CARGO_HOME  ?= $(HOME)/.cargo
# cargo's output, and the module that ships: the same after Binaryen's wasm-opt.
RAW_WASM    := target/$(WASM_TARGET)/release/entra_id_connector.wasm
WASM        := target/connector/entra_id_connector.wasm
HOST        := target/release/connector-host
MANIFEST    := manifests/microsoft-entra-id.json
# Speed-first settings for the plugin (the host keeps the ordinary release profile): opt-level 3
# takes a third to a half off every export's own work, and Binaryen's wasm-opt -Oz then takes the
# module back under 512 KiB (about 11 % smaller) without giving the speed back
# (docs/performance.md, "Where the bytes go").
WASM_FLAGS  := --config 'profile.release.lto=true' --config 'profile.release.opt-level=3' \
               --config 'profile.release.panic="abort"' --config 'profile.release.codegen-units=1' \
               --config 'profile.release.strip=true' \
               --config 'target.$(WASM_TARGET).rustflags=["--remap-path-prefix=$(CARGO_HOME)=/cargo","--remap-path-prefix=$(CURDIR)=/src"]'
# The WebAssembly features rustc's wasm32 target emits, and no others.
WASM_OPT    := wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
               --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types

.PHONY: packages binaryen all setup build wasm host pin demo serve test lint fmt clippy unit bench msal-venv fuzz clean install install-check

FUZZ_SECONDS ?= 60
# One target per export of the interface's table (`connector-host exports`); a test holds
# fuzz/Cargo.toml to the same table.

all: build

setup:
	@rustup toolchain install >/dev/null 2>&1 || rustup toolchain install

# Debian packages the tests need, installed when missing (CI runs as root; one apt-get update
# for all): the panel's browser test drives chromium through chromium-driver (never a browser
# build of its own); the PostgreSQL tests start their own server from postgresql's binaries.
packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y $$missing; \
	  else echo "the tests need Debian's$$missing (apt-get install -y$$missing, as root)"; exit 1; fi; \
	fi

# Binaryen's wasm-opt (Debian's binaryen), installed when missing, as `packages` does.
binaryen:
	@command -v wasm-opt >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y binaryen; \
	  else echo "building the plugin needs Binaryen's wasm-opt (apt-get install -y binaryen, as root)"; exit 1; fi; }

# wasm-opt is deterministic: the same cargo output always gives the same module (and sha256).
wasm: setup binaryen
	$(CARGO) build -p entra-id-connector --release --target $(WASM_TARGET) $(WASM_FLAGS)
	@mkdir -p $(dir $(WASM))
	@if [ ! -f $(WASM) ] || [ $(RAW_WASM) -nt $(WASM) ]; then \
	  echo "$(WASM_OPT) $(RAW_WASM) -o $(WASM)"; $(WASM_OPT) $(RAW_WASM) -o $(WASM).tmp && mv $(WASM).tmp $(WASM); fi

# Every target of the workspace, so the binary and the tests share one feature resolution (a
# build of the binary alone resolves dev-dependency features differently and would compile
# wasmtime a second time for the tests).
host: setup
	$(CARGO) build --workspace --release --all-targets

# Packaging: pin the manifest's sha256 to the module just built.
pin: wasm host
	$(HOST) pin-manifest $(MANIFEST)

build: pin
	@echo "built: $(WASM) ($$(wc -c < $(WASM)) bytes) and $(HOST)"

demo: build
	$(HOST) demo

# The platform as a service against the embedded mock, its store under target/ (Ctrl-C stops it).
SERVE_STORE ?= target/serve/connections.db
serve: build
	@$(HOST) api-keys list --store $(SERVE_STORE) 2>/dev/null | grep -q active || $(HOST) api-keys create make-serve --store $(SERVE_STORE)
	$(HOST) serve --mock --store $(SERVE_STORE)

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --release -- -D warnings
	$(CARGO) clippy -p entra-id-connector --target $(WASM_TARGET) --release -- -D warnings

# Tests run in the release profile so the host's dependencies are compiled once for both
# the binary and the tests.
unit: build packages
	@mkdir -p target
	set -o pipefail; $(CARGO) test --workspace --release 2>&1 | tee target/test-output.log
	@awk '/^test result:/ {p+=$$4; f+=$$6} END {printf "tests: %d passed, %d failed\n", p, f}' target/test-output.log

test: lint unit install-check
	$(HOST) conformance --manifest $(MANIFEST)

# Installs the command, the manifest and the module: PREFIX/bin/connector-host finds
# PREFIX/share/connector-host/microsoft-entra-id.json by itself, from any directory.
PREFIX ?= /usr/local
SHARE  := $(PREFIX)/share/connector-host
install: build
	install -d $(PREFIX)/bin $(SHARE)
	install -m 0755 $(HOST) $(PREFIX)/bin/connector-host
	install -m 0644 $(WASM) $(SHARE)/entra_id_connector.wasm
	install -m 0644 manifests/manifest.schema.json $(SHARE)/manifest.schema.json
	sed 's|"path": *"[^"]*"|"path": "entra_id_connector.wasm"|' $(MANIFEST) > $(SHARE)/microsoft-entra-id.json.tmp
	mv $(SHARE)/microsoft-entra-id.json.tmp $(SHARE)/microsoft-entra-id.json
	$(PREFIX)/bin/connector-host validate-manifest $(SHARE)/microsoft-entra-id.json

# What `make install` puts in place works from another directory: the demo, run from /.
install-check: build
	rm -rf target/install-check
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/target/install-check
	cd / && env -u CONNECTOR_HOST_MANIFEST $(CURDIR)/target/install-check/bin/connector-host demo > $(CURDIR)/target/install-check/demo.log
	@tail -1 target/install-check/demo.log

# Benchmarks and budgets (not part of `make test`): target/bench-report.json and a table.
# `build` compiled connector-bench with the whole workspace; `cargo run -p bench` would resolve
# features for the bench alone and compile the host a second time.
# MSAL Python for the bench's comparison, in a virtual environment under target/ (skipped, and
# the row says so, when python3 or the package registry is not there).
MSAL_VERSION := 1.39.0
msal-venv:
	@test -x target/msal-venv/bin/python && target/msal-venv/bin/python -c 'import msal' 2>/dev/null || \
	  { python3 -m venv target/msal-venv && target/msal-venv/bin/pip install -q msal==$(MSAL_VERSION); } || \
	  { rm -rf target/msal-venv; echo "msal $(MSAL_VERSION) not installed: the bench does not compare with it"; }

bench: build msal-venv
	target/release/connector-bench

# libFuzzer on every export of the native core, FUZZ_SECONDS each, growing fuzz/corpus.
fuzz: host
	rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in $$(../$(HOST) exports); do \
	  cargo +nightly fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=65536 || exit 1; \
	done

clean:
	$(CARGO) clean
