//! What Bridle hands to other tools and to auditors, written from core types and from the
//! evidence pack's data model ([`report`]): the privilege graph as BloodHound OpenGraph JSON
//! ([`opengraph`]), the evidence PDF ([`pdf`]), OSCAL assessment results ([`oscal`]) and CSV
//! tables ([`csv_tables`]).
//!
//! Architecture invariant: writers only. Everything here takes data the caller computed (with
//! the evaluation time it chose) and writes bytes; no SQL, no clock, no network, no protocol
//! types. The same input always gives the same bytes.

pub mod csv_tables;
pub mod opengraph;
pub mod oscal;
pub mod pdf;
pub mod report;
