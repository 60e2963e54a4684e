# The two commands: `make run` brings the system up, `make test` runs every check.
.PHONY: run test bench fmt lint clean-data

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

# With `make run` up: N complete lifecycles, C at a time, through the API and emulators.
N ?= 20
C ?= 4
bench:
	cargo run --quiet -p e2e --bin lifecycle-bench -- $(N) $(C)

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings

# Forget the local Temporal state (workflows) kept between runs.
clean-data:
	rm -rf .data
