# The README's two commands: `make demo` and `make test`.
# Each installs what it is missing from Debian first (scripts/deps.sh).
.PHONY: demo test test-dev test-asan test-tsan bench deps clean docs deb

JOBS ?= $(shell nproc)

demo:
	@bash scripts/deps.sh build
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	bash scripts/demo.sh ./build/release/tools/procctx/procctx

# The whole suite, then again under ASan+UBSan, then the concurrency label
# under TSan.
test: test-dev test-asan test-tsan

test-dev:
	@bash scripts/deps.sh test
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)
	ctest --preset dev

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
	cmake --preset release -DPROCCTX_BUILD_BENCH=ON >/dev/null
	cmake --build --preset release -j $(JOBS)
	bash bench/run.sh

# The API reference from the public headers (Doxygen, warnings are errors).
docs:
	@bash scripts/deps.sh docs
	mkdir -p build/docs
	doxygen docs/Doxyfile
	@echo "API reference: build/docs/html/index.html"

# A Debian package of the release build: library, headers, CLI, man page,
# completions and docs (install it with apt install ./build/release/pkg/procctx_*.deb).
deb:
	@bash scripts/deps.sh deb
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	cd build/release && cpack -G DEB -B pkg
	@ls build/release/pkg/*.deb

clean:
	rm -rf build
