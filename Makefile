# Eddy: every entry point a user or CI needs. `make demo` and `make test` install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SPEC := spec/kafka-messages.json
MESSAGES := ../shared/kafka-protocol/messages
GEN := .build/debug/EddyWireGen
FUZZ_SECONDS ?= 60

.PHONY: broker help setup build generate check-generated test demo tour bench-wire bench-broker bench-engine bench-sinks bench-kafka bench-e2e fuzz capture-fixtures clean

help:
	@echo "make demo              install what is missing, build, run eddy server with three live pipelines and the dashboard (DEMO_SECONDS=N to stop)"
	@echo "make tour              the parts one by one: eddy demo, the broker with kcat, eddy run over files, decoded client requests"
	@echo "make test              install what is missing, check generated code, run every test (Swift, then real clients)"
	@echo "make broker            run eddy broker on 127.0.0.1:9092 with data in ./data"
	@echo "make generate          regenerate the condensed spec and the Kafka codecs"
	@echo "make bench-wire        CRC-32C, compression and record-batch benchmarks (release build)"
	@echo "make bench-broker      broker produce/consume throughput (librdkafka, release build) next to disk bandwidth"
	@echo "make bench-engine      engine Q_A/Q_B (10 M events) against DuckDB on the same files (release build)"
	@echo "make bench-sinks       rows/s into Parquet, PostgreSQL and SQLite next to pyarrow, DuckDB and COPY (release build)"
	@echo "make bench-kafka       Q_A from a topic of a separate broker next to files and a bare librdkafka consumer (release build)"
	@echo "make bench-e2e         eddy server: event produced → visible in SQLite and over SSE at 10 k and 100 k events/s; the dashboard's CPU cost (release build)"
	@echo "make fuzz              run the wire and SQL fuzzers for FUZZ_SECONDS each (default $(FUZZ_SECONDS))"
	@echo "make capture-fixtures  re-record what real Kafka clients send (test fixtures)"

setup:
	@bash scripts/setup.sh

build: setup
	swift build

# The condensed spec is derived from the official schemas when they are beside the checkout
# (../shared); the codecs and test samples are generated from the spec, which a clone carries.
generate:
	swift build --product EddyWireGen
	@if [ -d $(MESSAGES) ]; then $(GEN) condense $(MESSAGES) $(SPEC); fi
	$(GEN) generate $(SPEC) Sources/EddyWire/Generated Tests/EddyWireTests/Generated

check-generated: generate
	@git diff --exit-code --stat -- $(SPEC) Sources/EddyWire/Generated Tests/EddyWireTests/Generated \
	  || { echo "generated code differs from the committed code: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- Sources/EddyWire/Generated Tests/EddyWireTests/Generated)" \
	  || { echo "untracked generated files: run 'make generate' and commit"; exit 1; }

# Swift tests (XCTest), then real Kafka clients against `eddy broker` (interop, pytest).
test: setup check-generated
	swift build --build-tests
	swift build --product eddy
	swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; exit $${PIPESTATUS[0]}
	bash scripts/interop.sh

broker: build
	.build/debug/eddy broker --data-dir data --listen 127.0.0.1:9092

demo: build
	bash scripts/demo.sh

tour: build
	bash scripts/tour.sh

bench-wire: setup
	swift build -c release --product EddyBench
	.build/release/EddyBench

bench-broker: setup
	bash scripts/bench-broker.sh

bench-engine: setup
	bash scripts/bench-engine.sh

bench-sinks: setup
	bash scripts/bench-sinks.sh

bench-kafka: setup
	bash scripts/bench-kafka.sh

bench-e2e: setup
	bash scripts/bench-e2e.sh

fuzz: setup
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

capture-fixtures: setup
	.venv/bin/python scripts/capture/capture_all.py --out Tests/EddyWireTests/Fixtures/captures

clean:
	rm -rf .build
