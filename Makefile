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

# The benchmark suite in release binaries, on a stack of its own (docs/PERFORMANCE.md):
# lifecycles and their no-op twin, requests left waiting, the API under wrk. Prints the
# table and writes the plots to .data/bench (the first release build takes about 25
# minutes on 2 cores). N=…, BENCH_SUITE="lifecycles waiting api" and more: scripts/bench.sh.
bench:
	@bash scripts/bench.sh

# N lifecycles through HTTP while each worker is SIGKILLed 2 s after it polls and Temporal crashes
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
