//! Every end-to-end test in one binary (one link per change instead of one per file): a
//! module per area and, inside, per Temporal server the tests run against. PostgreSQL is
//! always real, the providers are the emulators in `sandbox/`. Run one area or file by
//! its path, e.g. `cargo test -p e2e --test e2e lifecycle::time_skipping::saga`.

mod accounts;
mod catalogue;
mod dispatch;
mod documents;
mod invoices;
mod lifecycle;
mod payments;
mod project;
mod providers;
