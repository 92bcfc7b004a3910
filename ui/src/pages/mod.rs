//! One module per page; each owns its requests and shows its own errors.

pub mod brokers;
pub mod dashboard;
pub mod entity;
pub mod evidence;
pub mod findings;
pub mod flows;
pub mod frameworks;
pub mod graph;
pub mod import;
pub mod inventory;
pub mod risks;
