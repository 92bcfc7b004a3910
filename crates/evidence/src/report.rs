//! The evidence pack's data model: everything the PDF, the OSCAL document and the CSV files
//! state, assembled by the app from the inventory, the findings, the register and the audit
//! log at one evaluation time. Plain data, so every writer states the same facts.

use serde::Serialize;

/// One evidence pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceReport {
    /// The organisation named on the cover (a setting).
    pub organisation: String,
    /// What the pack covers, in one sentence.
    pub scope: String,
    pub framework: FrameworkInfo,
    /// The evaluation time (RFC 3339, UTC).
    pub at: String,
    pub snapshot: SnapshotInfo,
    pub audit: AuditInfo,
    /// Files written next to the PDF, with their sha256.
    pub sidecars: Vec<Sidecar>,
    /// Inventory counts per entity kind (plural names).
    pub counts: Vec<(String, u64)>,
    pub functions: Vec<FunctionSection>,
    /// Every finding bearing on the framework, in check order.
    pub findings: Vec<FindingEntry>,
    /// The risk register at the evaluation time, highest residual score first.
    pub risks: Vec<RiskEntry>,
    pub attestations: Vec<AttestationEntry>,
    /// Privilege paths to crown jewels, laid out by core's layered layout.
    pub figures: Vec<PathFigure>,
    pub inventory: Vec<Table>,
    pub method: Method,
    pub crosswalk: Vec<CrosswalkRow>,
    /// The stored approval flows, by id.
    pub flows: Vec<FlowSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameworkInfo {
    pub id: String,
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub source: Vec<String>,
    pub licence: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub id: i64,
    /// When the snapshot was taken (RFC 3339).
    pub taken_at: String,
    /// The sha256 of the canonical estate export of the snapshot.
    pub estate_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditInfo {
    /// The hash of the newest audit-log entry when the pack was made.
    pub head_hash: String,
    pub entries: u64,
    /// Every acknowledged break of the log, one line each (who, when, why, what broke): a pack
    /// made after one says so.
    pub acknowledged_breaks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sidecar {
    pub file_name: String,
    pub what: String,
    pub sha256: String,
}

/// The assessment outcome of a framework item or a control: core's one rulebook.
pub use bridle_core::compliance::ItemStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionSection {
    /// `GOVERN`, `MAP`, `MEASURE`, `MANAGE`.
    pub id: String,
    pub title: String,
    pub text: Option<String>,
    pub categories: Vec<CategorySection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategorySection {
    /// e.g. `GOVERN 1`.
    pub id: String,
    pub title: String,
    pub text: Option<String>,
    pub subcategories: Vec<SubcategorySection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubcategorySection {
    /// e.g. `GOVERN 1.1`.
    pub id: String,
    /// The verbatim statement.
    pub text: String,
    pub controls: Vec<ControlAssessment>,
    pub status: ItemStatus,
    /// Why the status is what it is, in one sentence.
    pub reason: String,
    /// Ids of the findings (in [`EvidenceReport::findings`]) of the mapped controls' checks.
    pub findings: Vec<String>,
    /// Ids of the risks linked to this item or to its controls.
    pub risks: Vec<i64>,
    /// Ids of the attestations for this item or for its controls.
    pub attestations: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlAssessment {
    pub id: String,
    pub title: String,
    /// `automated` or `manual`.
    pub assessment: String,
    pub status: ItemStatus,
    pub pass: u32,
    pub fail: u32,
    pub unknown: u32,
    pub accepted: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingEntry {
    /// `check@subject`.
    pub id: String,
    pub check: String,
    pub title: String,
    pub subject: String,
    /// `pass`, `fail`, `unknown` or `accepted`.
    pub status: String,
    pub severity: String,
    pub summary: String,
    pub evidence: Vec<String>,
    pub controls: Vec<String>,
    pub accepted_by: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RiskEntry {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// `open`, `accepted` or `closed` at the evaluation time.
    pub status: String,
    pub treatment: String,
    pub owner: Option<String>,
    pub likelihood: u8,
    pub impact: u8,
    pub inherent_score: u8,
    pub residual_score: u8,
    pub level: String,
    pub due: Option<String>,
    pub categories: Vec<String>,
    pub findings: Vec<String>,
    pub controls: Vec<String>,
    /// The acceptance recorded on the risk at the evaluation time, also one past its expiry.
    pub acceptance: Option<AcceptanceEntry>,
}

/// Who accepted a risk, when, why, until when, and the findings it covers in this pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcceptanceEntry {
    pub by: String,
    pub at: String,
    pub reason: String,
    pub expires: String,
    /// True when `expires` is at or before the evaluation time: the risk counts as open.
    pub expired: bool,
    /// The failing findings of this pack the acceptance covers (none when expired).
    pub covers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttestationEntry {
    pub id: i64,
    /// `control` or `subcategory`.
    pub target_kind: String,
    /// The control id (`C03`) or the NIST label (`GOVERN 1.1`).
    pub target: String,
    pub statement: String,
    pub by: String,
    pub at: String,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    /// After this time the attestation no longer counts.
    pub expires: Option<String>,
    /// True when `expires` is at or before the evaluation time.
    pub expired: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathFigure {
    pub title: String,
    pub caption: String,
    pub nodes: Vec<FigureNode>,
    /// Indices into `nodes`.
    pub edges: Vec<(usize, usize)>,
    /// The layout's extent, in its own units.
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureNode {
    pub id: String,
    pub label: String,
    /// The entity kind (`agent`, `identity`, …).
    pub kind: String,
    pub crown_jewel: bool,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Method {
    /// How statuses are decided, one rule per line.
    pub rules: Vec<String>,
    /// The thresholds in force, as (name, value).
    pub thresholds: Vec<(String, String)>,
    /// The automated checks: id, title, controls.
    pub checks: Vec<(String, String, String)>,
    /// The framework items out of Bridle's scope, as (id, reason).
    pub out_of_scope: Vec<(String, String)>,
    /// What the crosswalk is and what labels of early drafts stand for.
    pub crosswalk_notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrosswalkRow {
    pub control: String,
    pub title: String,
    pub assessment: String,
    pub nist: Vec<String>,
    pub owasp_asi: Vec<String>,
    pub owasp_nhi: Vec<String>,
    pub maestro: Vec<String>,
}

/// One stored approval flow: its facts, its diagram, its verification and drift findings and
/// an excerpt of the Cedar policies generated from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowSection {
    pub id: String,
    /// The inventory agent id.
    pub agent: String,
    pub purpose: String,
    pub environment: Option<String>,
    pub data_sensitivity: String,
    /// The SPIFFE ID template of the task's workload identity.
    pub identity: String,
    pub author: Option<String>,
    /// The stored version and when and by whom it was saved.
    pub version: i64,
    pub saved: String,
    /// The sha256 of the stored document, as imported.
    pub sha256: String,
    /// One line per declared grant (`read-invoices: read on res:invoices, ttl 15m`).
    pub grants: Vec<String>,
    /// The revocation promise in one line.
    pub revocation: String,
    pub diagram: FlowDiagram,
    /// Verification findings, then drift findings, with accepted risks applied.
    pub findings: Vec<FlowFindingEntry>,
    /// The NIST AI RMF subcategories the findings' controls map to, in catalog order.
    pub subcategories: Vec<String>,
    pub cedar: CedarExcerpt,
}

/// The flow graph as laid out by the app: positions in the layout's own units (layers along
/// `x`, rows along `y`); the PDF derives its grid from the distinct coordinates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowDiagram {
    pub nodes: Vec<FlowDiagramNode>,
    pub edges: Vec<FlowDiagramEdge>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowDiagramNode {
    pub id: String,
    /// `approval`, `issue`, `tool_call`, `revoke` or `end`.
    pub kind: String,
    pub label: String,
    /// Approvers, broker role and TTL, actions and resource…
    pub detail: String,
    /// The worst status of the findings about this step: `pass`, `fail`, `unknown` or `none`.
    pub status: String,
    pub start: bool,
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowDiagramEdge {
    /// Indices into the nodes.
    pub from: usize,
    pub to: usize,
    /// On the path of a failing finding.
    pub highlighted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowFindingEntry {
    /// `check@flow/subject`, as in [`EvidenceReport::findings`].
    pub id: String,
    /// `pass`, `fail`, `unknown` or `accepted`.
    pub status: String,
    pub severity: String,
    pub summary: String,
    pub hint: Option<String>,
}

/// The first lines of the generated Cedar policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CedarExcerpt {
    pub lines: Vec<String>,
    /// Lines of the policies not shown.
    pub more_lines: usize,
    /// The file beside the PDF holding the full policies, when one was written.
    pub file: Option<String>,
    /// Why there are no policies (the flow does not compile), when there are none.
    pub error: Option<String>,
}

impl FlowSection {
    /// How many of the flow's findings (or of those in `only`) have each status: pass, fail,
    /// unknown, accepted.
    pub fn status_counts(&self, only: Option<&[String]>) -> [usize; 4] {
        let mut counts = [0; 4];
        for f in self
            .findings
            .iter()
            .filter(|f| only.is_none_or(|ids| ids.contains(&f.id)))
        {
            match f.status.as_str() {
                "pass" => counts[0] += 1,
                "fail" => counts[1] += 1,
                "unknown" => counts[2] += 1,
                _ => counts[3] += 1,
            }
        }
        counts
    }

    /// `1 fail, 13 pass` (statuses with no finding left out).
    pub fn status_summary(&self, only: Option<&[String]>) -> String {
        let counts = self.status_counts(only);
        let parts: Vec<String> = [(1, "fail"), (2, "unknown"), (3, "accepted"), (0, "pass")]
            .iter()
            .filter(|(i, _)| counts[*i] > 0)
            .map(|(i, word)| format!("{} {word}", counts[*i]))
            .collect();
        if parts.is_empty() {
            "no findings".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

impl EvidenceReport {
    pub fn finding(&self, id: &str) -> Option<&FindingEntry> {
        self.findings.iter().find(|f| f.id == id)
    }

    pub fn risk(&self, id: i64) -> Option<&RiskEntry> {
        self.risks.iter().find(|r| r.id == id)
    }

    pub fn attestation(&self, id: i64) -> Option<&AttestationEntry> {
        self.attestations.iter().find(|a| a.id == id)
    }

    /// Every subcategory, in catalog order.
    pub fn subcategories(&self) -> impl Iterator<Item = &SubcategorySection> {
        self.functions
            .iter()
            .flat_map(|f| f.categories.iter())
            .flat_map(|c| c.subcategories.iter())
    }

    /// Subcategory counts per status for one function (or all when `None`).
    pub fn status_counts(&self, function: Option<&str>) -> [usize; ItemStatus::ALL.len()] {
        let mut counts = [0; ItemStatus::ALL.len()];
        for f in self
            .functions
            .iter()
            .filter(|f| function.is_none_or(|id| f.id == id))
        {
            for s in f.categories.iter().flat_map(|c| c.subcategories.iter()) {
                counts[s.status as usize] += 1;
            }
        }
        counts
    }
}
