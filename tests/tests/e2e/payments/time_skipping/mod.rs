//! On a time-skipping test server each test starts for itself: days pass in an instant.

mod payment_cancel;
mod payment_flow;
mod payment_webhooks;
