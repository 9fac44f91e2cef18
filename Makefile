# flowhost: `make demo` runs the example host, `make test` runs every test.
.PHONY: all build deps demo test bench fuzz clean

all: build

deps:
	@tools/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j$$(nproc)
	@tools/studio-build.sh

demo: build
	@tools/demo.sh

test:
	@tests/run.sh

bench: build
	@bash bench/run.sh

# libFuzzer targets (tests/fuzz): FUZZ_SECONDS per target, default 60
fuzz:
	@tests/fuzz/run.sh

clean:
	rm -rf build build-asan var
