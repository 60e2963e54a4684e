//! On a time-skipping test server each test starts for itself: days pass in an instant.

mod coordination_flow;
mod dispatch_flow;
