//! Activity implementations. Each one is idempotent: running it twice has the effect of
//! running it once, because Temporal retries activities whose completion it did not see.

pub mod dispatch;
pub mod payments;
pub mod requests;
pub mod sends;

pub use requests::{RecordTransition, RequestActivities};
