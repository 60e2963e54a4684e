//! Activity implementations. Each one is idempotent: running it twice has the effect of
//! running it once, because Temporal retries activities whose completion it did not see.

pub mod dispatch;
pub mod http;
pub mod mercadopago;
pub mod mercately;
pub mod payments;
pub mod requests;
pub mod settings;

pub use requests::{RecordTransition, RequestActivities};
