//! Routes, by business area.

pub mod docs;
pub mod health;
pub mod requests;
