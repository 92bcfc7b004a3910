//! Frameworks, controls, findings, coverage and the risk register, as every front end sees
//! them. Closed vocabularies are lower-case words (`"fail"`, `"high"`, `"mitigate"`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A framework catalog's identity and provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkInfo {
    /// `nist-ai-rmf`, `owasp-asi`, `owasp-nhi` or `maestro`.
    pub id: String,
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub source: Vec<String>,
    pub licence: String,
    /// A warning to show with the catalog (MAESTRO: its threat ids are local to Bridle).
    pub id_note: Option<String>,
    /// Items per kind.
    pub counts: BTreeMap<String, u64>,
}

/// One item of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub id: String,
    pub kind: String,
    pub parent: Option<String>,
    pub title: String,
    /// The official statement, verbatim (NIST).
    pub text: Option<String>,
    /// Bridle's own summary (OWASP, MAESTRO).
    pub summary: Option<String>,
    pub source: String,
    /// `true` when the id is Bridle's own (MAESTRO threats): never cite it as the framework's.
    pub local_id: bool,
}

/// A framework item named from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRef {
    pub framework: String,
    pub item: String,
    pub local_id: bool,
}

/// One crosswalk cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlMapping {
    pub framework: String,
    pub item: String,
    pub title: String,
    pub local_id: bool,
    pub rationale: String,
}

/// A control of the library with its crosswalk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub practice: String,
    /// `automated` (checks produce findings) or `manual` (attested by hand).
    pub assessment: String,
    pub checks: Vec<String>,
    pub mappings: Vec<ControlMapping>,
}

/// The result of one check for one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `check@subject`, stable across runs.
    pub id: String,
    pub check: String,
    pub title: String,
    pub subject: String,
    /// `pass`, `fail`, `unknown`, or `accepted` (a failure covered by an accepted, unexpired
    /// risk, named in `accepted_by`).
    pub status: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub summary: String,
    pub entities: Vec<String>,
    pub evidence: Vec<String>,
    /// Privilege paths behind the finding, as ids from the agent to the target.
    pub paths: Vec<Vec<String>>,
    pub controls: Vec<String>,
    pub framework_items: Vec<FrameworkRef>,
    pub accepted_by: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingTotals {
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
    pub accepted: u64,
}

/// The limits the checks applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckLimits {
    pub rotation_days: u32,
    pub unused_days: u32,
    pub max_ttl_days: u32,
}

/// How many findings of one check passed without being listed in a [`CheckReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassCount {
    pub check: String,
    /// What the check's subjects are: `agent`, `identity`, `credential`, `grant` or `tool`, and
    /// `flow` for the approval-flow checks.
    pub subject_kind: String,
    pub count: u64,
}

/// `bridle check`: every finding at one time, and the gate's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub at: Timestamp,
    /// The framework the report is narrowed to, if any.
    pub framework: Option<String>,
    /// The snapshot the findings were computed from (the latest) and its estate hash.
    pub snapshot: Option<i64>,
    pub estate_sha256: Option<String>,
    pub limits: CheckLimits,
    pub totals: FindingTotals,
    /// The gate level, if one was asked for.
    pub fail_on: Option<String>,
    /// Failing (not accepted) findings at or above `fail_on`.
    pub gate_failures: u64,
    /// The passing findings not in `findings`, counted per check (in check order) and subject
    /// kind: a report lists its passes only when asked to (a large estate has millions of them).
    /// Empty, and left out of the JSON, when the passes are listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlisted_passes: Vec<PassCount>,
    /// Every failure and unknown (accepted failures included), and the passes when listed.
    pub findings: Vec<Finding>,
}

/// One row of a coverage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageItem {
    pub id: String,
    pub kind: String,
    pub parent: Option<String>,
    pub title: String,
    pub text: Option<String>,
    pub summary: Option<String>,
    pub local_id: bool,
    /// Controls mapped to the item (or to an item below it).
    pub controls: Vec<String>,
    pub pass: u64,
    pub fail: u64,
    pub unknown: u64,
    pub accepted: u64,
    /// By the assessment rulebook (`bridle_core::compliance::assessment`), as the evidence pack
    /// says it: `met`, `partly_met`, `not_met`, `exception_accepted`, `not_assessed` or
    /// `out_of_scope`.
    pub status: String,
    /// Why it has that status, in one sentence (the counts behind it, or the scope reason).
    #[serde(default)]
    pub reason: String,
}

/// `bridle coverage --framework X`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub framework: FrameworkInfo,
    pub at: Timestamp,
    pub items: Vec<CoverageItem>,
}

/// Who accepted a risk, why, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
    pub expires: Timestamp,
    /// Whether the acceptance had expired at the evaluation time.
    pub expired: bool,
}

/// A risk as it stands at an evaluation time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// Framework items as `framework:item`.
    pub categories: Vec<String>,
    pub likelihood: u8,
    pub impact: u8,
    pub inherent_score: u8,
    pub inherent_level: String,
    pub residual_likelihood: Option<u8>,
    pub residual_impact: Option<u8>,
    pub residual_score: u8,
    pub residual_level: String,
    pub owner: Option<String>,
    /// `mitigate`, `accept`, `transfer` or `avoid`.
    pub treatment: String,
    /// `open`, `accepted` or `closed` at `at`.
    pub status: String,
    /// `true` when the risk was accepted but the acceptance expired by `at`.
    pub reopened: bool,
    pub due: Option<Timestamp>,
    pub acceptance: Option<Acceptance>,
    pub findings: Vec<String>,
    pub controls: Vec<String>,
    pub agents: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The evaluation time of `status`.
    pub at: Timestamp,
}

/// One entry of a risk's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskEvent {
    pub at: Timestamp,
    pub user: String,
    pub host: String,
    pub action: String,
    /// JSON text with the particulars.
    pub detail: String,
    pub audit_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskDetail {
    pub risk: Risk,
    pub history: Vec<RiskEvent>,
}

/// What a new risk states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRisk {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub categories: Vec<String>,
    pub likelihood: u8,
    pub impact: u8,
    #[serde(default)]
    pub residual_likelihood: Option<u8>,
    #[serde(default)]
    pub residual_impact: Option<u8>,
    #[serde(default)]
    pub owner: Option<String>,
    /// Default `mitigate`.
    #[serde(default)]
    pub treatment: Option<String>,
    #[serde(default)]
    pub due: Option<Timestamp>,
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default)]
    pub controls: Vec<String>,
    #[serde(default)]
    pub agents: Vec<String>,
}

/// A change to a risk: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub categories: Option<Vec<String>>,
    pub likelihood: Option<u8>,
    pub impact: Option<u8>,
    pub residual_likelihood: Option<u8>,
    pub residual_impact: Option<u8>,
    pub owner: Option<String>,
    pub treatment: Option<String>,
    pub due: Option<Timestamp>,
    pub findings: Option<Vec<String>>,
    pub controls: Option<Vec<String>>,
    pub agents: Option<Vec<String>>,
}

/// A risk proposed from failing findings, with the reasoning behind its ratings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskSuggestion {
    /// The check whose failures it covers.
    pub check: String,
    pub title: String,
    pub description: String,
    pub categories: Vec<String>,
    pub likelihood: u8,
    pub impact: u8,
    pub score: u8,
    pub level: String,
    pub reasoning: Vec<String>,
    pub findings: Vec<String>,
    pub controls: Vec<String>,
    pub agents: Vec<String>,
}
