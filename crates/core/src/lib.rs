//! Bridle's domain: the inventory model, the estate/v1 interchange format and the analyses over
//! them.
//!
//! Architecture invariant: this crate does no IO and reads no clock. It knows nothing of SQL,
//! HTTP, Tauri or the wire format of the UI; every analysis takes the evaluation time as an
//! argument so that its result is reproducible.

pub mod compliance;
pub mod estate;
pub mod flow;
pub mod graph;
pub mod model;
pub mod risk;
pub mod synthetic;
pub mod time;

pub use model::*;
