# Thin wrapper around CMake; see README.md.
BUILD ?= build
PREFIX ?= /usr/local
CMAKE_FLAGS ?=
PYTHON ?= python3
JOBS ?= $(shell nproc)

.PHONY: all build configure deps test demo bench install clean

all: build

deps:
	@tools/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: deps build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

demo: deps build
	@tools/demo.sh $(BUILD)

bench: build
	@tools/bench.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
