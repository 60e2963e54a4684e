//! Every end-to-end test in one binary (one link per change instead of one per file),
//! a module per area. Each module says which servers it runs against: the Temporal
//! dev server `make test` starts (`TEST_TEMPORAL_ADDRESS`), or a time-skipping test
//! server of its own; PostgreSQL is always real, the providers are the emulators in
//! `sandbox/`. Run one area with `cargo test -p e2e --test e2e saga::`.

// Accounts and people
mod auth;
mod authorization;
mod authorization_routes;
mod authorization_table;
mod owners_pets;
mod studies;
mod vets;

// Catalogue, prices and booking
mod cart;
mod catalog;
mod pricing;
mod reference;

// Dispatch
mod coordination_flow;
mod dispatch;
mod dispatch_e2e;
mod dispatch_flow;

// The request's lifecycle and its workflow
mod durability;
mod lifecycle;
mod replay;
mod saga;
mod saga_endings;
mod timers;

// Payments
mod payment_cancel;
mod payment_e2e;
mod payment_flow;
mod payment_webhooks;

// Providers and their emulators
mod mercadopago;
mod mercately;

// The project itself
mod config;
mod demo;
mod docs;
