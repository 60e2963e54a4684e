# The two commands: `make run` brings the system up, `make test` runs every check.
.PHONY: run test walkthrough bench chaos fmt lint clean-data

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

# With `make run` up: one visit from booking to its report, step by step (about 5 minutes;
# a run right after another waits for the first visit to end).
walkthrough:
	@python3 scripts/walkthrough.py

# With `make run` up: N complete lifecycles, C at a time, through the API and emulators.
N ?= 20
C ?= 4
bench:
	cargo run --quiet -p e2e --bin lifecycle-bench -- $(N) $(C)

# N lifecycles through HTTP while the worker is SIGKILLed every 3 s and Temporal crashes
# once (the chaos test of `make test`, longer); prints its table.
N_CHAOS = $(if $(filter command line,$(origin N)),$(N),200)
chaos:
	CHAOS_LIFECYCLES=$(N_CHAOS) bash scripts/test.sh -p e2e --test e2e chaos -- --nocapture

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings

# Forget the local Temporal state (workflows) kept between runs.
clean-data:
	rm -rf .data
