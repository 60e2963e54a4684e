//! The request's lifecycle and its workflow: HTTP to PostgreSQL, the worker killed, timers over days, the saga, and the saved histories replayed.

mod dev_server;
mod replay;
mod time_skipping;
