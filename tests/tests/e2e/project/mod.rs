//! The project itself: the deployment description, the docs and the demo data agree with the code.

mod config;
mod constraints;
mod demo;
mod docs;
mod fuzz;
mod metrics;
mod openapi;
mod pool;
mod typescript_client;
