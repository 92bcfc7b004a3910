//! What Bridle hands to other tools and to auditors, written from core types: the privilege
//! graph as BloodHound OpenGraph JSON ([`opengraph`]).
//!
//! Architecture invariant: writers only. Everything here takes an [`bridle_core::Estate`] and
//! analysis results that the caller computed (with the evaluation time it chose) and writes bytes
//! to a `std::io::Write`; no SQL, no clock, no network, no protocol types.

pub mod opengraph;
