//! Approval flows as the CLI prints them and the console's designer edits and renders them.
//!
//! [`FlowDraft`] has exactly the shape of a `bridle.flow/v1` document's `flow` (the same field
//! names, TTLs as text such as `15m`), so the designer's forms edit the document itself and the
//! app reads a draft with the same reader that reads a YAML file.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A stored flow in listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowSummary {
    pub id: String,
    pub agent: String,
    pub purpose: String,
    pub environment: Option<String>,
    pub data_sensitivity: String,
    pub version: i64,
    pub updated_at: Timestamp,
    pub updated_by: String,
    /// sha256 of the stored document.
    pub sha256: String,
    pub steps: u32,
    pub grants: u32,
    /// Verification results at the evaluation time (design checks only).
    pub pass: u32,
    pub fail: u32,
    pub unknown: u32,
}

/// One verification or drift result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowFinding {
    /// `check@flow/subject`.
    pub id: String,
    pub check: String,
    pub title: String,
    pub flow: String,
    pub step: Option<String>,
    /// The step, grant or flow part the finding is about.
    pub subject: String,
    /// `pass`, `fail` or `unknown`.
    pub status: String,
    pub severity: String,
    pub summary: String,
    pub evidence: Vec<String>,
    pub hint: Option<String>,
    /// Step ids (design checks) or entity ids (excess reach) of the path that shows a failure.
    pub path: Vec<String>,
    pub entities: Vec<String>,
    /// The controls the check implements, and through them the framework items.
    pub controls: Vec<String>,
}

/// A problem that keeps a document from being a flow, located by its path in the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowProblem {
    pub path: String,
    pub message: String,
}

/// The flow graph laid out in layers from the start (left) to the ends (right).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FlowDiagram {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<FlowNode>,
    pub edges: Vec<FlowEdge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowNode {
    pub id: String,
    /// `approval`, `issue`, `tool_call`, `revoke` or `end`.
    pub kind: String,
    pub label: String,
    /// A second line: approvers, broker role and TTL, resource and actions…
    pub detail: String,
    pub layer: u32,
    /// Centre of the node.
    pub x: f64,
    pub y: f64,
    /// The worst verification status of the findings about this step: `pass`, `fail`,
    /// `unknown`, or `none` when no check is about it.
    pub status: String,
    /// The failing checks' one-line summaries, shown inline on the diagram.
    pub messages: Vec<String>,
    pub is_start: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowEdge {
    pub from: String,
    pub to: String,
    /// On a failing finding's path (e.g. the way to staging that passes no approval).
    pub highlighted: bool,
}

/// Everything the designer shows for one flow or draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowView {
    /// The stored flow, when it is stored.
    pub summary: Option<FlowSummary>,
    pub draft: FlowDraft,
    pub yaml: String,
    /// Non-empty when the draft is not a valid flow; then there are no findings.
    pub problems: Vec<FlowProblem>,
    pub findings: Vec<FlowFinding>,
    pub diagram: FlowDiagram,
}

/// The flow part of a `bridle.flow/v1` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FlowDraft {
    pub id: String,
    pub agent: String,
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    pub data_sensitivity: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomy: Option<String>,
    pub identity: IdentityDraft,
    #[serde(default)]
    pub grants: Vec<GrantDraft>,
    pub revocation: RevocationDraft,
    pub start: String,
    pub steps: Vec<StepDraft>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IdentityDraft {
    pub spiffe_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GrantDraft {
    pub id: String,
    pub resource: String,
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RevocationDraft {
    pub triggers: Vec<String>,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StepDraft {
    pub id: String,
    /// `approval`, `issue`, `tool_call`, `revoke` or `end`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalDraft>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<IssueDraft>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCallDraft>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<RevokeDraft>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApprovalDraft {
    pub approvers: Vec<ApproverDraft>,
    pub quorum: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shows: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApproverDraft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct IssueDraft {
    pub broker: String,
    pub role: String,
    pub ttl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<String>,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub single_use: bool,
    pub grants: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ToolCallDraft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub resource: String,
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RevokeDraft {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
}

/// What importing flow documents did, per flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowImportReport {
    pub flows: Vec<FlowImported>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowImported {
    pub id: String,
    pub file: String,
    /// `created`, `updated` or `unchanged`.
    pub outcome: String,
    pub version: Option<i64>,
}

/// The Cedar schema and policies generated from a flow (validated against each other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CedarOutput {
    pub flow: String,
    pub schema: String,
    pub policies: String,
    pub policy_ids: Vec<String>,
}

/// A request to the policy simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationRequest {
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// `approved`, `task_id`, `now`, `issued_at`, `revoked`, optional `condition_met`.
    pub context: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationDecision {
    pub flow: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// The policies that decided (empty for a deny that no policy matched: default deny).
    pub policies: Vec<String>,
    pub errors: Vec<String>,
}

/// The flow against the live inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowDriftView {
    pub flow: String,
    pub at: Timestamp,
    pub findings: Vec<FlowFinding>,
    /// Access today beyond the flow's grants; absent when the agent is not in the inventory.
    pub excess: Option<Vec<ExcessAccess>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcessAccess {
    pub resource: String,
    pub actions: Vec<String>,
    pub hops: u32,
    pub path: Vec<String>,
}

/// The agent's reach under the flow next to today's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowWhatIfView {
    pub flow: String,
    pub agent: String,
    pub at: Timestamp,
    pub identity: String,
    pub rows: Vec<ReachChange>,
    pub unknown_resources: Vec<String>,
    pub lost: u32,
    pub shrunk: u32,
    pub gained: u32,
    pub kept: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachChange {
    pub resource: String,
    pub today: Vec<String>,
    pub under_flow: Vec<String>,
    /// `lost`, `shrunk`, `gained`, `changed` or `kept`.
    pub change: String,
}
