//! Routes, by business area.

pub mod auth;
pub mod cart;
pub mod catalog;
pub mod docs;
pub mod health;
pub mod pets;
pub mod pricing;
pub mod reference;
pub mod requests;
pub mod studies;
pub mod vets;
