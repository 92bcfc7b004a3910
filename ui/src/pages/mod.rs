//! One module per page; each owns its requests and shows its own errors.

pub mod dashboard;
pub mod entity;
pub mod graph;
pub mod import;
pub mod inventory;
