# memscope's front door. The build itself is meson's (meson.build); this file
# installs what is missing, and names the everyday tasks.
#
#   make deps     install missing Debian packages (as root; otherwise list them)
#   make          build build/memscope
#   make run      build, start the bundled demo process, show its memory
#   make check    build (plain, and clang with ASan+UBSan), run every test
#   make bench    benchmarks against the peers; prints the README table
#   make format   clang-format the sources
#   make fuzz     fuzz the core-file reader

BUILD    ?= build
SANBUILD ?= build-san
FUZZBUILD ?= build-fuzz
FUZZTIME ?= 60
JOBS     ?= $(shell nproc)

.PHONY: all deps run check bench format format-check lint fuzz clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(SANBUILD)/build.ninja:
	CC=clang meson setup $(SANBUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug

deps:
	@./scripts/deps.sh

run: deps all
	@./scripts/demo.sh $(BUILD)

check: deps format-check lint all $(SANBUILD)/build.ninja
	ninja -C $(SANBUILD)
	python3 tests/run.py -j $(JOBS) --build $(BUILD) \
		--memscope plain=$(BUILD)/memscope --memscope asan+ubsan=$(SANBUILD)/memscope \
		--unit $(BUILD) --unit $(SANBUILD)

$(FUZZBUILD)/build.ninja:
	CC=clang meson setup $(FUZZBUILD) -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug -Dc_args=-fsanitize=fuzzer-no-link

# FUZZTIME seconds of libFuzzer on the core reader, from the seed corpus.
fuzz: deps $(FUZZBUILD)/build.ninja
	ninja -C $(FUZZBUILD) fuzz/fuzz_core
	./fuzz/run.sh $(FUZZBUILD)/fuzz/fuzz_core $(FUZZTIME)

bench: deps all
	./bench/run.sh $(BUILD)

C_SOURCES = $(wildcard lib/*.[ch] cli/*.[ch] tests/fixtures/*.[ch] tests/unit/*.[ch] \
	bench/*.[ch] fuzz/*.[ch])

format:
	clang-format -i $(C_SOURCES)

format-check:
	clang-format --dry-run --Werror $(C_SOURCES)

# Test and benchmark scripts are code too.
lint:
	pyflakes3 tests/*.py tests/cli/*.py $(wildcard tests/data/cores/*.py fuzz/*.py bench/*.py)
	shellcheck -S warning scripts/*.sh bench/*.sh .ci/run $(wildcard tests/*.sh fuzz/*.sh)

clean:
	rm -rf $(BUILD) $(SANBUILD) $(FUZZBUILD)
