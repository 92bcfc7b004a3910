//! The approval-flow document: one agent task, its workload identity, its just-in-time grants and
//! the directed graph of steps from start to end (approvals, credential issuance, tool calls,
//! revocation). This is the `bridle.flow/v1` format that lives in git as YAML; serde reads it,
//! [`super::document`] checks what serde cannot.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The format tag every flow document starts with.
pub const FLOW_FORMAT: &str = "bridle.flow/v1";

/// A whole flow document as written in YAML or JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowDocument {
    pub format: String,
    pub flow: Flow,
}

/// One agent task and how it is allowed to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// The task's id: also the flow's id, `{task}` in the identity template, and Cedar's `task_id`.
    pub id: String,
    /// The agent (an inventory agent id) that performs the task.
    pub agent: String,
    /// Why the task exists, in a sentence an approver understands.
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The most sensitive data the task handles (public, internal, confidential, restricted).
    pub data_sensitivity: String,
    /// Who designed the flow (separation of duties: they may not approve it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The agent's owner as the designer knows it; used with the inventory's (and instead of it
    /// when the agent is not in the inventory yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The agent's autonomy (assistive, supervised, autonomous) when the inventory does not
    /// know the agent; the inventory's wins when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autonomy: Option<String>,
    pub identity: WorkloadIdentity,
    /// The grants the task needs, each just in time.
    #[serde(default)]
    pub grants: Vec<FlowGrant>,
    /// What ends the task's access and how.
    pub revocation: Revocation,
    /// The id of the first step.
    pub start: String,
    pub steps: Vec<Step>,
}

/// The task's workload identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadIdentity {
    /// A SPIFFE ID, possibly with the placeholders `{agent}`, `{task}` and `{run}`.
    pub spiffe_id: String,
}

/// A grant the flow declares: a resource, actions on it, and how long it lives once issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowGrant {
    pub id: String,
    pub resource: String,
    pub actions: Vec<String>,
    /// Absent means the grant never lapses: standing access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<Ttl>,
    /// A condition the policy enforces at request time (e.g. "ticket in state approved").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// The revocation the flow promises: what triggers it and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub triggers: Vec<String>,
    pub action: String,
}

/// The words `revocation.triggers` may use.
pub const REVOCATION_TRIGGERS: [&str; 4] = ["task_end", "ttl", "anomaly", "kill_switch"];
/// The words `revocation.action` may use.
pub const REVOCATION_ACTIONS: [&str; 4] = [
    "revoke_leases",
    "revoke_tokens",
    "revoke_all",
    "disable_identity",
];

/// One node of the flow graph. `kind` says which of the detail fields it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The steps that may follow (several means a branch); empty only for `end`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<Issue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<RevokeStep>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Approval,
    Issue,
    ToolCall,
    Revoke,
    End,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Approval => "approval",
            StepKind::Issue => "issue",
            StepKind::ToolCall => "tool_call",
            StepKind::Revoke => "revoke",
            StepKind::End => "end",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A human approval: who may approve, how many must, and what they are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub approvers: Vec<Approver>,
    #[serde(default = "one")]
    pub quorum: u32,
    /// What the approver sees before deciding (e.g. purpose, grants, data to be staged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shows: Vec<String>,
}

fn one() -> u32 {
    1
}

/// A named person, or a role with (optionally) its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approver {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Who holds the role; without it separation of duties cannot be decided (unknown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
}

impl Approver {
    /// "person alice@…" or "role finance-approvers".
    pub fn label(&self) -> String {
        match (&self.person, &self.role) {
            (Some(person), _) => format!("person {person}"),
            (None, Some(role)) => format!("role {role}"),
            (None, None) => "nobody".to_owned(),
        }
    }
}

/// Credential issuance by a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issue {
    /// The broker profile name (as in `bridle broker ls`).
    pub broker: String,
    /// The broker's role (e.g. an OpenBao auth role) that issues the credential.
    pub role: String,
    pub ttl: Ttl,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ttl: Option<Ttl>,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub single_use: bool,
    /// The flow grants this credential carries.
    pub grants: Vec<String>,
}

/// A tool call: what it touches, and the data it stages or collects, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub resource: String,
    pub actions: Vec<String>,
    /// The data this call stages or collects (a description); set means the step stages data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<String>,
}

/// A revocation point in the flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeStep {
    /// The issue steps whose credentials this revokes; empty means every credential issued.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
}

impl RevokeStep {
    pub fn covers(&self, issue_step: &str) -> bool {
        self.credentials.is_empty() || self.credentials.iter().any(|c| c == issue_step)
    }
}

/// A time to live, written like `15m`, `1h` or `1h 30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(pub Duration);

impl Ttl {
    pub fn from_secs(secs: u64) -> Ttl {
        Ttl(Duration::from_secs(secs))
    }

    pub fn secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl std::str::FromStr for Ttl {
    type Err = String;

    fn from_str(text: &str) -> Result<Ttl, String> {
        let duration = humantime::parse_duration(text)
            .map_err(|e| format!("`{text}` is not a duration like 15m, 1h or 1h 30m ({e})"))?;
        if duration.is_zero() {
            return Err(format!("`{text}` is zero: a TTL must be positive"));
        }
        if duration.subsec_nanos() != 0 {
            return Err(format!("`{text}` has a fraction of a second"));
        }
        Ok(Ttl(duration))
    }
}

impl Serialize for Ttl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ttl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ttl, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Flow {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn grant(&self, id: &str) -> Option<&FlowGrant> {
        self.grants.iter().find(|g| g.id == id)
    }
}
