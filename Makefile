# Thin wrapper: the two commands the README promises, plus a few conveniences.
#   make run   install what is missing, build, start the switch on built-in defaults
#   make test  install what is missing, build, run every test (ctest prints the summary)

BUILD       ?= build
CLANG_BUILD ?= build-clang
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc)
RUN_ARGS    ?=

.PHONY: all deps build clang-build run test bench clean

all: build

deps:
	@./.ci/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCENTRALITA_CLANG_DIR=$(abspath $(CLANG_BUILD))

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The second tree: clang 14 with ASan/UBSan. It proves the clang build is
# warning-free, gives libFuzzer its targets, and runs the unit tests sanitized.
$(CLANG_BUILD)/CMakeCache.txt:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(CLANG_BUILD) \
	  -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCENTRALITA_FUZZ=ON

clang-build: deps $(CLANG_BUILD)/CMakeCache.txt
	cmake --build $(CLANG_BUILD) -j $(JOBS)

run: build
	$(BUILD)/centralita $(RUN_ARGS)

test: build clang-build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 900

# The benchmark suite: centralita vs Kamailio 5.6 for options, register and call, with
# centralita-bench and sipp (bench/compare/suite.py; under 10 minutes). It rewrites the
# suite section of docs/benchmarks.md; BENCH_ARGS=--no-write leaves the docs alone. The
# older single-purpose scripts (options_bench.py, sip_core_bench.py) still run by hand.
BENCH_ARGS ?=
bench: build
	bench/compare/suite.py --centralita $(BUILD)/centralita $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(CLANG_BUILD)
