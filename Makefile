# The README's two commands: `make demo` and `make test`.
# Each installs what it is missing from Debian first (scripts/deps.sh).
.PHONY: demo test test-dev test-release test-asan test-tsan bench deps clean soak fuzz memcheck docs deb

JOBS ?= $(shell nproc)

# The demo and the benchmarks need no test kit (in a release build it compiles the library a
# second time, with its test seam); the packages hold it.
demo:
	@bash scripts/deps.sh build
	cmake --preset release -DPROCCTX_BUILD_TESTKIT=OFF >/dev/null
	cmake --build --preset release -j $(JOBS)
	bash scripts/demo.sh ./build/release/tools/procctx/procctx

# The whole suite; the optimised build of the demo (its warnings are errors
# too, and GCC finds more of them with optimisation; make bench builds the
# benchmarks the same way); the suite again under
# ASan+UBSan (without the packaging and Slurm tests, which test no memory
# safety of their own, and the docs' code blocks, which are compiled and
# linked, never run); the concurrency label under TSan, which builds only
# what that label runs.
test: test-dev test-release test-asan test-tsan

test-dev:
	@bash scripts/deps.sh test
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev

test-release:
	@bash scripts/deps.sh build
	cmake --preset release -DPROCCTX_BUILD_TESTKIT=OFF >/dev/null
	cmake --build --preset release -j $(JOBS)

test-asan:
	@bash scripts/deps.sh test
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan

test-tsan:
	@bash scripts/deps.sh test
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan

bench:
	@bash scripts/deps.sh bench
	cmake --preset release -DPROCCTX_BUILD_BENCH=ON -DPROCCTX_BUILD_TESTKIT=OFF >/dev/null
	cmake --build --preset release -j $(JOBS)
	bash bench/run.sh

# The API reference from the public headers (Doxygen, warnings are errors).
docs:
	@bash scripts/deps.sh docs
	mkdir -p build/docs
	doxygen docs/Doxyfile
	@echo "API reference: build/docs/html/index.html"

# Debian packages of the release build, split as Debian splits a library
# (cmake/ProcctxPackage.cmake): libprocctx0 (the shared library),
# libprocctx-dev (headers, static library, CMake and pkg-config files, docs)
# and procctx (the command, its man page, completions and report schemas).
# Install them with apt install ./build/release/pkg/*.deb. A packager names
# the maintainer and homepage: make deb DEB_OPTIONS='-DPROCCTX_DEB_MAINTAINER="Name <mail>" -DPROCCTX_HOMEPAGE=URL'.
DEB_OPTIONS ?=
deb:
	@bash scripts/deps.sh deb
	cmake --preset release -DPROCCTX_BUILD_TESTKIT=ON $(DEB_OPTIONS) >/dev/null
	cmake --build --preset release -j $(JOBS)
	rm -f build/release/pkg/*.deb
	cd build/release && cpack -G DEB -B pkg
	@ls build/release/pkg/*.deb

# The long soak: SOAK_CYCLES cycles of spawn/run/cancel/drop/wait, then a
# leak check (CI runs 5,000 of them as the ctest label soak).
SOAK_CYCLES ?= 100000
soak:
	@bash scripts/deps.sh test
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS) --target soak
	./build/dev/tests/soak $(SOAK_CYCLES)

# libFuzzer over every parser, FUZZ_SECONDS each; the committed seeds are in
# fuzz/corpus/<target>/, what a run finds goes to build/fuzz/corpus/<target>/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = duration stop_sequence batch_input batch_template joblog batch_policy batch_writers run_report
fuzz:
	@bash scripts/deps.sh fuzz
	cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DPROCCTX_BUILD_FUZZ=ON -DPROCCTX_BUILD_TESTS=OFF -DPROCCTX_BUILD_BENCH=OFF -DPROCCTX_BUILD_EXAMPLES=OFF \
	  -DPROCCTX_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
	cmake --build build/fuzz -j $(JOBS) $(addprefix --target fuzz_,$(FUZZ_TARGETS))
	set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  ./build/fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/ build/fuzz/corpus/$$t fuzz/corpus/$$t; \
	done

# valgrind memcheck over the process tests (slow; not in CI), in the dev
# build. valgrind answers ENOSYS for clone3, so this also runs procctx's
# clone() fallback throughout. valgrind cannot survive a failed execve in a
# child it still runs, so tests of exec failures are left out.
MEMCHECK_FILTER ?= -*Interpreter*:*NotFound*:*NoSuchProgram*:*ExecFail*
MEMCHECK_TESTS = process_test isolation_test diagnostics_test trace_test hostile_test
memcheck:
	@bash scripts/deps.sh memcheck
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS) $(addprefix --target ,$(MEMCHECK_TESTS))
	set -e; for t in $(MEMCHECK_TESTS); do \
	  valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	    --trace-children=no ./build/dev/tests/$$t --gtest_filter='$(MEMCHECK_FILTER)'; \
	done

clean:
	rm -rf build
