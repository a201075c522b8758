# Thin wrapper: the two commands the README promises, plus a few conveniences.
#   make run   install what is missing, build, start the switch on built-in defaults
#   make test  install what is missing, build, run every test (ctest prints the summary)

BUILD       ?= build
FUZZ_BUILD  ?= build-fuzz
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc)
RUN_ARGS    ?=

.PHONY: all deps build fuzz-build run test bench clean

all: build

deps:
	@./.ci/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCENTRALITA_FUZZ_DIR=$(abspath $(FUZZ_BUILD))/test/fuzz

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# libFuzzer needs clang: the fuzz targets get their own clang build tree.
$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) \
	  -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCENTRALITA_FUZZ=ON

fuzz-build: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets

run: build
	$(BUILD)/centralita $(RUN_ARGS)

test: build fuzz-build
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 900

bench: build
	bench/compare/options_bench.py --centralita $(BUILD)/centralita

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
