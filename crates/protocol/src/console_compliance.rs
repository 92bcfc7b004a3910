//! What the console's Findings, Frameworks and Risk register pages ask for and get back, beyond
//! the report types in [`crate::compliance`] (which they reuse).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::compliance::{CheckLimits, Finding, FindingTotals};

/// One page of findings, filtered by the backend so a large estate never reaches the window
/// whole. Empty or absent filters match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsQuery {
    /// Evaluation time; absent: now.
    #[serde(default)]
    pub at: Option<Timestamp>,
    /// `nist-ai-rmf`, `owasp-asi`, `owasp-nhi` or `maestro`: findings whose check bears on it.
    #[serde(default)]
    pub framework: Option<String>,
    /// `low`, `medium`, `high` or `critical` (exactly that severity).
    #[serde(default)]
    pub severity: Option<String>,
    /// `pass`, `fail`, `unknown` or `accepted`.
    #[serde(default)]
    pub status: Option<String>,
    /// Case-insensitive text in the id, title, subject, summary or entities.
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub offset: u64,
    pub limit: u64,
}

/// The findings that match a [`FindingsQuery`], with facet counts: `by_status` counts what
/// matches every filter but the status, `by_severity` every filter but the severity, so each
/// drop-down says what choosing a value would give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsPage {
    pub at: Timestamp,
    pub snapshot: Option<i64>,
    pub limits: CheckLimits,
    /// Every finding of the framework (or all), before the severity, status and text filters.
    pub totals: FindingTotals,
    pub by_status: BTreeMap<String, u64>,
    pub by_severity: BTreeMap<String, u64>,
    /// How many match every filter.
    pub matched: u64,
    pub offset: u64,
    /// Worst first: failing, then unknown, accepted, passing; by severity within each.
    pub findings: Vec<Finding>,
}

/// Who the console acts as: changes to the register are recorded under this user and host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleActor {
    pub user: String,
    pub host: String,
}
