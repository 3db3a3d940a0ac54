# Entry points for a fresh Debian machine (run as root, or with sudo available):
#   make setup   install what the build and the tests need (idempotent)
#   make test    everything CI runs: build, clippy, fmt, runtime unit tests, golden/kbuild trials
#   make demo    a short demonstration on examples/pid_max_writes.stp
#   make install install the release binary, man page, completions and examples
#                (PREFIX=/usr/local, DESTDIR= for staging); make uninstall removes them
#   make deb     build target/debian/stp-hwbp_VERSION_ARCH.deb (packaging/deb.sh)
#   make bless   rewrite the golden expected files from the current translator (review: git diff)

SHELL := /bin/bash
CARGO ?= cargo
BIN := target/debug/stp-hwbp

APT_PACKAGES := build-essential linux-headers-amd64 linux-headers-6.12-amd64 \
	linux-image-amd64 linux-image-6.12-amd64 linux-headers-rt-amd64 linux-image-rt-amd64 \
	qemu-system-x86 busybox-static \
	systemtap-doc cpio kmod xz-utils zstd

# Root runs apt directly; anyone else goes through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup setup-apt setup-arm64 setup-nextest build test demo bless clean docs fuzz fuzz-generated \
	fuzz-coverage bench corpus release install uninstall deb test-package

all: build

setup: setup-apt setup-arm64 setup-nextest

# dpkg -s first, so that a machine with everything installed never touches the network.
setup-apt:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg -s "$$p" >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else \
		echo "apt packages: all present"; \
	fi

# arm64: the cross compiler and qemu-system-aarch64 on the host; the arm64 kernel image, its
# headers and busybox-static unpacked (never installed) under /var/cache/stp-hwbp/arm64.
setup-arm64:
	@bash tests/setup/arm64.sh

setup-nextest:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "cargo-nextest: present"; \
	else \
		$(CARGO) install cargo-nextest --locked; \
	fi

build:
	$(CARGO) build

# CI=true: a missing kernel tree is a failure, never a skip.
test: setup build
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) fmt --check
	bash tests/runtime-unit/run.sh
	CI=true $(CARGO) nextest run --no-fail-fast
	bash tests/package/run.sh

demo: setup build
	$(BIN) -p2 examples/pid_max_writes.stp
	$(BIN) -p4 examples/pid_max_writes.stp && modinfo ./stphwbp_pid_max_writes.ko | head -8
	$(BIN) --vm -c 'for i in 1 2 3; do echo 4000$$i > /proc/sys/kernel/pid_max; done' examples/pid_max_writes.stp

# Installing: where each file goes follows the FHS and what bash-completion, zsh and fish look
# in by default; the Debian package moves zsh's file to vendor-completions (packaging/deb.sh).
PREFIX ?= /usr/local
DESTDIR ?=
ZSH_COMPLETIONS ?= $(PREFIX)/share/zsh/site-functions
INSTALLED := $(PREFIX)/bin/stp-hwbp $(PREFIX)/share/man/man1/stp-hwbp.1 \
	$(PREFIX)/share/bash-completion/completions/stp-hwbp $(ZSH_COMPLETIONS)/_stp-hwbp \
	$(PREFIX)/share/fish/vendor_completions.d/stp-hwbp.fish $(PREFIX)/share/doc/stp-hwbp

# The installed binary is linked statically (glibc with crt-static): it starts without the
# dynamic loader's symbol lookups and relocations, which were a quarter of the instructions of a
# one-probe -p3 run. The flag must not reach proc-macro crates, so cargo gets --target and the
# binary lands under target/HOST/release. `cargo build --release` still gives the dynamic one.
# It stays position-independent: a non-PIE static build (-C relocation-model=static) skips the
# start-up's 11,000 relocations and 50 page faults (about 0.07 ms of a one-probe -p3 run), but
# puts the program's code at a fixed address in a process that runs as root.
HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
RELEASE_BIN := target/$(HOST)/release/stp-hwbp

release:
	RUSTFLAGS='-C target-feature=+crt-static' $(CARGO) build --release --locked --target $(HOST)

install: release
	install -Dm755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/stp-hwbp
	install -Dm644 docs/stp-hwbp.1 $(DESTDIR)$(PREFIX)/share/man/man1/stp-hwbp.1
	install -Dm644 completions/stp-hwbp.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/stp-hwbp
	install -Dm644 completions/stp-hwbp.zsh $(DESTDIR)$(ZSH_COMPLETIONS)/_stp-hwbp
	install -Dm644 completions/stp-hwbp.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/stp-hwbp.fish
	install -Dm644 README.md $(DESTDIR)$(PREFIX)/share/doc/stp-hwbp/README.md
	install -d $(DESTDIR)$(PREFIX)/share/doc/stp-hwbp/examples
	install -m644 examples/*.stp examples/*.args $(DESTDIR)$(PREFIX)/share/doc/stp-hwbp/examples/

uninstall:
	rm -rf $(addprefix $(DESTDIR),$(INSTALLED))

deb: release
	BIN=$(RELEASE_BIN) bash packaging/deb.sh

# What `make test` runs last: the package and `make install`, tried as a user would.
test-package:
	bash tests/package/run.sh

bless: build
	BLESS=1 $(CARGO) nextest run --no-fail-fast -E 'binary(golden)'

# The man page and completions come from the clap definitions (tests/cli.rs checks them).
docs: build
	$(BIN) --print-man > docs/stp-hwbp.1
	for sh in bash zsh fish; do $(BIN) --print-completions $$sh > completions/stp-hwbp.$$sh; done

# Fuzzing beyond what `make test` runs (fuzz/README.md):
# - fuzz-generated: FUZZ_SCRIPTS generated valid scripts (default 300) from a random first
#   seed, each through passes 1-3, the -p1 round trip and a -Werror kbuild on every installed
#   tree, plus ten times as many through passes 1-3 alone (tests/genfuzz.rs; `make test` runs
#   8 from a fixed seed);
# - fuzz-coverage: the cargo-fuzz targets for FUZZ_SECONDS each (default 120); the stable
#   toolchain needs RUSTC_BOOTSTRAP for cargo-fuzz's sanitizer flags. `make test` runs the
#   deterministic smoke fuzzer (tests/fuzz_smoke.rs) instead.
# `make -k fuzz` runs the second even when the first finds something.
FUZZ_SCRIPTS ?= 300
FUZZ_SECONDS ?= 120

fuzz: fuzz-generated fuzz-coverage

fuzz-generated: build
	@seed=0x$$(od -An -N8 -tx8 /dev/urandom | tr -d ' '); \
	echo "generated-script fuzzer: $(FUZZ_SCRIPTS) scripts from seed $$seed (STP_GENFUZZ_SEED=$$seed to replay)"; \
	STP_GENFUZZ_SEED=$$seed STP_GENFUZZ_SCRIPTS=$(FUZZ_SCRIPTS) \
		STP_GENFUZZ_FRONT=$$(( $(FUZZ_SCRIPTS) * 10 )) $(CARGO) test --test genfuzz

fuzz-coverage:
	$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	fuzz/seed-corpus.sh
	for t in parse elaborate translate generate; do \
		(cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS)) || exit 1; \
	done

# The README's figures, measured side by side (bench/figures.sh, which ends with the hit-cost
# rows of bench/hitcost.sh: bpftrace is their row (e), installed here rather than by `make test`).
bench: setup
	@dpkg -s bpftrace >/dev/null 2>&1 || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bpftrace; }
	$(MAKE) --no-print-directory release
	BIN=$(RELEASE_BIN) bash bench/figures.sh

# Issue 9's measure: how many of SystemTap's examples (probe headers rewritten to `begin`)
# stp-hwbp elaborates, against what `stap -p2` elaborates (needs the systemtap package).
corpus:
	$(CARGO) build --release
	python3 bench/corpus.py --errors

clean:
	$(CARGO) clean
