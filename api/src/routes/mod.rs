//! Routes, by business area.

pub mod health;
pub mod requests;
