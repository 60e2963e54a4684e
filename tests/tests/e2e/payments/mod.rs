//! Payments: the payment link, webhooks, confirmations, refunds and cancellations around them.

mod dev_server;
mod time_skipping;
