# Thin wrapper around CMake; see README.md.
BUILD ?= build
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
PYTHON ?= python3
JOBS ?= $(shell nproc)
# Several suites mostly wait (CPython's test_signal sleeps most of its 50 s):
# one test more than there are cores; the timing tests run alone anyway.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
# CMake's own makefiles run as sub-makes: keep their output to the progress.
MAKEFLAGS += --no-print-directory

.PHONY: all build build-asan configure deps test test-busy demo bench bench-gate install clean

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The suite runs twice: the normal build, then the library, the command and
# the tests built with AddressSanitizer + UBSan (a subset of interpreters).
test: deps build build-asan
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS) $(CTEST_FLAGS)
	ctest --test-dir $(BUILD)-asan --output-on-failure -j $(TEST_JOBS) $(CTEST_FLAGS)

# The suite beside one CPU-bound process per core (stress-ng), as on a shared
# CI runner: what compares timings must hold there too (docs/testing.md).
# CTEST_FLAGS='-R "report_|check_"' runs only the timing tests.
test-busy: deps build build-asan
	@stress-ng --cpu $$(nproc) --timeout 0 --quiet & hog=$$!; \
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS) $(CTEST_FLAGS); a=$$?; \
	ctest --test-dir $(BUILD)-asan --output-on-failure -j $(TEST_JOBS) $(CTEST_FLAGS); b=$$?; \
	kill $$hog; wait $$hog 2>/dev/null; test $$a -eq 0 -a $$b -eq 0

$(BUILD)-asan/CMakeCache.txt:
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DGILTRACE_SANITIZE=ON $(CMAKE_FLAGS)

build-asan: $(BUILD)-asan/CMakeCache.txt
	cmake --build $(BUILD)-asan -j $(JOBS)

demo: deps build
	@tools/demo.sh $(BUILD)

bench: build
	@$(PYTHON) tools/bench.py $(BUILD)

# Does giltrace check cry wolf on a busy runner, and does it catch planted
# regressions? (About half an hour; figures in docs/ci.md.)
bench-gate: build
	@$(PYTHON) tools/bench_gate.py $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-asan
