//! The evidence pack: assembling the report model (NIST AI RMF statuses per subcategory,
//! findings with accepted risks applied, the register, attestations, crown-jewel path figures,
//! the stored approval flows with their findings, diagrams and Cedar policies, the inventory)
//! from one snapshot at one evaluation time, and writing it as PDF (with the snapshot and
//! findings JSON and each flow's Cedar files beside it), OSCAL or CSV; checking a PDF back
//! against the inventory; recording manual attestations.
//!
//! Nothing here reads the clock: the evaluation time is an argument, and an export appends no
//! audit entry, so the same snapshot, settings and time give the same bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bridle_core::compliance::{
    self, CHECKS, Catalog, ControlLibrary, Finding, Framework, Status, Tally, assessment,
};
use bridle_core::flow::{DRIFT_CHECKS, FLOW_CHECKS, Flow, FlowFinding};
use bridle_core::graph::{PrivilegeGraph, Subgraph, SubgraphEdge, SubgraphNode, layout};
use bridle_core::risk::{Risk, RiskStatus, level};
use bridle_core::time::{Timestamp, format_utc};
use bridle_core::{ActionSet, EntityKind, Estate};
use bridle_evidence::report::{
    AcceptanceEntry, AttestationEntry, AuditInfo, CategorySection, CedarExcerpt, ControlAssessment,
    CrosswalkRow, EvidenceReport, FigureNode, FindingEntry, FlowDiagram, FlowDiagramEdge,
    FlowDiagramNode, FlowFindingEntry, FlowSection, FrameworkInfo, FunctionSection, ItemStatus,
    Method, PathFigure, RiskEntry, Sidecar, SnapshotInfo, SubcategorySection, Table,
};
use bridle_protocol::evidence as protocol;
use bridle_store::StoredFlow;
use bridle_store::{AttachedFile, Attestation, AttestationTarget, NewAttestation, SnapshotRecord};
use sha2::{Digest, Sha256};

use crate::Bridle;
use crate::compliance::accepted_by;
use crate::error::{ApiError, ErrorCode, api_error, store_error};
use crate::flows::{compliance_finding, diagram_of_draft, draft_of};

/// The organisation named on the cover when none is set.
pub const DEFAULT_ORGANISATION: &str = "Unnamed organisation";

/// At most this many privilege-path figures (the crown-jewel reach findings with most paths
/// first would be arbitrary; they come in agent order).
const MAX_FIGURES: usize = 12;
/// Nodes per figure: a figure must fit on one page.
const MAX_FIGURE_NODES: usize = 18;

/// Lines of Cedar policies a flow's section shows (the full text is written beside the PDF).
const CEDAR_EXCERPT_LINES: usize = 40;

/// What an evidence export is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRequest {
    pub framework: Framework,
    pub at: Timestamp,
    pub organisation: String,
}

impl EvidenceRequest {
    /// The console's request: NIST AI RMF, at the given time, the organisation or the default.
    pub fn from_console(
        request: &protocol::EvidenceExportRequest,
        now: Timestamp,
    ) -> EvidenceRequest {
        EvidenceRequest {
            framework: Framework::NistAiRmf,
            at: request.at.unwrap_or(now),
            organisation: request
                .organisation
                .as_deref()
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .unwrap_or(DEFAULT_ORGANISATION)
                .to_owned(),
        }
    }
}

/// Which table `export --format csv` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvTable {
    Findings,
    Risks,
    Inventory,
}

fn invalid(message: impl Into<String>) -> ApiError {
    api_error(ErrorCode::InvalidInput, message)
}

fn internal(message: impl Into<String>) -> ApiError {
    api_error(ErrorCode::Internal, message)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A finding with the accepted risk covering it, if any.
pub(crate) struct Evaluated {
    pub(crate) finding: Finding,
    pub(crate) accepted: Option<i64>,
}

/// Whether an attestation counts at `at`: recorded at or before it, and not expired then.
pub(crate) fn attestation_holds(attestation: &Attestation, at: Timestamp) -> bool {
    attestation.at <= at && attestation.expires.is_none_or(|e| at < e)
}

/// The controls `framework` maps to `item`, each assessed by the rulebook, and the item's status
/// and reason: what the PDF, OSCAL, `bridle coverage` and the console all show.
pub(crate) fn assess_item(
    framework: Framework,
    item: &str,
    evaluated: &[Evaluated],
    attestations: &[Attestation],
    at: Timestamp,
) -> (Vec<ControlAssessment>, ItemStatus, String) {
    if let Some(reason) = compliance::out_of_scope_reason(framework, item) {
        return (
            Vec::new(),
            ItemStatus::OutOfScope,
            format!("out of scope: {reason}"),
        );
    }
    let catalog = Catalog::get(framework);
    if framework == Framework::Maestro
        && catalog
            .item(item)
            .is_some_and(|i| i.kind == "layer" || i.kind == "group")
    {
        return maestro_layer(framework, item, evaluated, attestations, at);
    }
    let holds = |a: &&Attestation| attestation_holds(a, at);
    let attested_here = attestations
        .iter()
        .filter(holds)
        .any(|a| a.target_kind == AttestationTarget::Subcategory && a.target == item);
    let attested_control = |id: &str| {
        attestations
            .iter()
            .filter(holds)
            .any(|a| a.target_kind == AttestationTarget::Control && a.target == id)
    };
    let assessed: Vec<ControlAssessment> = ControlLibrary::get()
        .controls_covering(framework, item)
        .iter()
        .map(|c| assess_control(c, evaluated, attested_here || attested_control(&c.id)))
        .collect();
    let (status, reason) = subcategory_status(&assessed, attested_here);
    (assessed, status, reason)
}

/// A MAESTRO layer (or the cross-layer group) is assessed over all its threats: a threat no
/// control addresses counts as not assessed, so a layer is never met because one threat is.
fn maestro_layer(
    framework: Framework,
    layer: &str,
    evaluated: &[Evaluated],
    attestations: &[Attestation],
    at: Timestamp,
) -> (Vec<ControlAssessment>, ItemStatus, String) {
    let catalog = Catalog::get(framework);
    let threats: Vec<&str> = catalog
        .items
        .iter()
        .filter(|i| i.kind == "threat" && i.parent.as_deref() == Some(layer))
        .map(|i| i.id.as_str())
        .collect();
    let mut statuses = Vec::with_capacity(threats.len());
    let mut addressed = 0;
    let mut controls: Vec<ControlAssessment> = Vec::new();
    for threat in &threats {
        let (assessed, status, _) = assess_item(framework, threat, evaluated, attestations, at);
        if !assessed.is_empty() {
            addressed += 1;
        }
        statuses.push(status);
        for c in assessed {
            if !controls.iter().any(|known| known.id == c.id) {
                controls.push(c);
            }
        }
    }
    let status = assessment::item_status(&statuses, false);
    let reason = format!(
        "{addressed} of {} threats addressed by a control; threats: {}.",
        threats.len(),
        status_counts(&statuses)
    );
    (controls, status, reason)
}

/// `2 met, 1 not met`: how many of `statuses` have each status, in the rulebook's order.
fn status_counts(statuses: &[ItemStatus]) -> String {
    ItemStatus::ALL
        .iter()
        .filter_map(|s| {
            let k = statuses.iter().filter(|x| *x == s).count();
            (k > 0).then(|| format!("{k} {}", s.label()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Evaluated {
    fn status(&self) -> &'static str {
        if self.accepted.is_some() {
            "accepted"
        } else {
            self.finding.status.as_str()
        }
    }
}

/// The per-control tally and status, by core's rulebook.
fn assess_control(
    control: &compliance::Control,
    findings: &[Evaluated],
    attested: bool,
) -> ControlAssessment {
    let mut tally = Tally::default();
    for f in findings
        .iter()
        .filter(|f| control.checks.iter().any(|c| c == f.finding.check))
    {
        tally.add(f.finding.status, f.finding.severity, f.accepted.is_some());
    }
    let status = assessment::control_status(!control.checks.is_empty(), &tally, attested);
    ControlAssessment {
        id: control.id.clone(),
        title: control.title.clone(),
        assessment: control.assessment().to_owned(),
        status,
        pass: tally.pass,
        fail: tally.fail,
        unknown: tally.unknown,
        accepted: tally.accepted,
    }
}

/// A subcategory's status from its controls' (and a subcategory-level attestation when no
/// control is mapped), with the sentence that explains it and the counts beside it.
fn subcategory_status(controls: &[ControlAssessment], attested: bool) -> (ItemStatus, String) {
    let statuses: Vec<ItemStatus> = controls.iter().map(|c| c.status).collect();
    let status = assessment::item_status(&statuses, attested);
    if controls.is_empty() {
        let reason = if attested {
            "no control is mapped; met by manual attestation.".to_owned()
        } else {
            "no control of the library is mapped and no attestation was recorded.".to_owned()
        };
        return (status, reason);
    }
    let n = controls.len();
    let tally = controls.iter().fold(Tally::default(), |mut t, c| {
        t.pass += c.pass;
        t.fail += c.fail;
        t.unknown += c.unknown;
        t.accepted += c.accepted;
        t
    });
    let reason = format!(
        "{n} mapped control{}: {}; findings: {}.",
        if n == 1 { "" } else { "s" },
        status_counts(&statuses),
        tally.counts()
    );
    (status, reason)
}

fn entity_names(estate: &Estate) -> HashMap<&str, &str> {
    let mut names = HashMap::new();
    for a in &estate.agents {
        names.insert(a.id.as_str(), a.name.as_str());
    }
    for i in &estate.identities {
        names.insert(i.id.as_str(), i.name.as_str());
    }
    for c in &estate.credentials {
        names.insert(c.id.as_str(), c.id.as_str());
    }
    for r in &estate.resources {
        names.insert(r.id.as_str(), r.name.as_str());
    }
    for t in &estate.tools {
        names.insert(t.id.as_str(), t.name.as_str());
    }
    names
}

/// One figure per failing crown-jewel finding: the union of its paths, laid out by core's
/// layered layout (hops from the agent as layers).
fn path_figure(finding: &Finding, estate: &Estate, graph: &PrivilegeGraph) -> Option<PathFigure> {
    let names = entity_names(estate);
    let jewels: BTreeSet<&str> = estate
        .resources
        .iter()
        .filter(|r| r.crown_jewel)
        .map(|r| r.id.as_str())
        .collect();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut nodes: Vec<SubgraphNode> = Vec::new();
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for path in &finding.paths {
        let mut previous: Option<usize> = None;
        for (hop, id) in path.iter().enumerate() {
            let i = match index.get(id.as_str()) {
                Some(&i) => {
                    let node = &mut nodes[i];
                    node.hops = node.hops.min(hop as u32);
                    i
                }
                None => {
                    if nodes.len() >= MAX_FIGURE_NODES {
                        break;
                    }
                    let i = nodes.len();
                    index.insert(id.as_str(), i);
                    nodes.push(SubgraphNode {
                        id: id.clone(),
                        kind: graph.kind_of(id).unwrap_or(EntityKind::Resource),
                        hops: hop as u32,
                        actions: ActionSet::EMPTY,
                        sensitivity: None,
                        crown_jewel: jewels.contains(id.as_str()),
                        parent: previous,
                    });
                    i
                }
            };
            if let Some(p) = previous
                && p != i
            {
                edges.insert((p, i));
            }
            previous = Some(i);
        }
    }
    if nodes.len() < 2 {
        return None;
    }
    let subgraph = Subgraph {
        source: finding.subject.clone(),
        nodes,
        edges: edges
            .iter()
            .map(|&(from, to)| SubgraphEdge {
                from,
                to,
                reasons: Vec::new(),
            })
            .collect(),
        omitted: 0,
    };
    let placed = layout(&subgraph);
    let position: HashMap<usize, usize> = placed
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.node, i))
        .collect();
    let figure_nodes = placed
        .nodes
        .iter()
        .map(|n| {
            let node = &subgraph.nodes[n.node];
            FigureNode {
                id: node.id.clone(),
                label: names
                    .get(node.id.as_str())
                    .copied()
                    .unwrap_or(&node.id)
                    .to_owned(),
                kind: node.kind.as_str().to_owned(),
                crown_jewel: node.crown_jewel,
                x: n.x,
                y: n.y,
            }
        })
        .collect();
    let figure_edges = subgraph
        .edges
        .iter()
        .filter_map(|e| Some((*position.get(&e.from)?, *position.get(&e.to)?)))
        .collect();
    let agent = names
        .get(finding.subject.as_str())
        .copied()
        .unwrap_or(&finding.subject);
    Some(PathFigure {
        title: format!("{agent} ({}) reaches crown jewels", finding.subject),
        caption: format!(
            "Finding {} ({}): {} {} path{} shown.",
            finding.id,
            finding.severity.as_str(),
            finding.summary,
            finding.paths.len(),
            if finding.paths.len() == 1 { "" } else { "s" }
        ),
        nodes: figure_nodes,
        edges: figure_edges,
        width: placed.width,
        height: placed.height,
    })
}

/// A stored flow with its design and drift findings and its Cedar policies.
struct FlowEvaluation {
    row: StoredFlow,
    flow: Flow,
    findings: Vec<FlowFinding>,
    cedar: Result<bridle_policy::CedarBundle, String>,
}

/// The flow's diagram from the console's layered layout, as the evidence model's own type.
fn flow_diagram(flow: &Flow, findings: &[FlowFinding]) -> FlowDiagram {
    let laid_out = diagram_of_draft(&draft_of(flow), findings);
    let index: HashMap<&str, usize> = laid_out
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    FlowDiagram {
        nodes: laid_out
            .nodes
            .iter()
            .map(|n| FlowDiagramNode {
                id: n.id.clone(),
                kind: n.kind.clone(),
                label: n.label.clone(),
                detail: n.detail.clone(),
                status: n.status.clone(),
                start: n.is_start,
                x: n.x,
                y: n.y,
            })
            .collect(),
        edges: laid_out
            .edges
            .iter()
            .filter_map(|e| {
                Some(FlowDiagramEdge {
                    from: *index.get(e.from.as_str())?,
                    to: *index.get(e.to.as_str())?,
                    highlighted: e.highlighted,
                })
            })
            .collect(),
    }
}

/// One flow's section; `statuses` holds the findings' statuses with accepted risks applied,
/// `functions` the subcategories with their findings.
fn flow_section(
    evaluation: &FlowEvaluation,
    statuses: &HashMap<&str, &str>,
    functions: &[FunctionSection],
) -> FlowSection {
    let FlowEvaluation {
        row,
        flow,
        findings,
        cedar,
    } = evaluation;
    let ids: BTreeSet<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    let subcategories = functions
        .iter()
        .flat_map(|f| f.categories.iter())
        .flat_map(|c| c.subcategories.iter())
        .filter(|s| s.findings.iter().any(|id| ids.contains(id.as_str())))
        .map(|s| s.id.clone())
        .collect();
    let cedar = match cedar {
        Ok(bundle) => {
            let lines: Vec<&str> = bundle.policies.trim_end().lines().collect();
            CedarExcerpt {
                lines: lines
                    .iter()
                    .take(CEDAR_EXCERPT_LINES)
                    .map(|l| (*l).to_owned())
                    .collect(),
                more_lines: lines.len().saturating_sub(CEDAR_EXCERPT_LINES),
                file: None,
                error: None,
            }
        }
        Err(error) => CedarExcerpt {
            lines: Vec::new(),
            more_lines: 0,
            file: None,
            error: Some(error.clone()),
        },
    };
    FlowSection {
        id: flow.id.clone(),
        agent: flow.agent.clone(),
        purpose: flow.purpose.clone(),
        environment: flow.environment.clone(),
        data_sensitivity: flow.data_sensitivity.clone(),
        identity: flow.identity.spiffe_id.clone(),
        author: flow.author.clone(),
        version: row.version,
        saved: format!(
            "saved {} by {}@{}",
            row.at.format("%Y-%m-%dT%H:%M:%SZ"),
            row.user,
            row.host
        ),
        sha256: row.sha256.clone(),
        grants: flow
            .grants
            .iter()
            .map(|g| {
                let mut line = format!("{}: {} on {}", g.id, g.actions.join(", "), g.resource);
                match g.ttl {
                    Some(ttl) => line.push_str(&format!(", ttl {ttl}")),
                    None => line.push_str(", no ttl (standing)"),
                }
                if let Some(condition) = &g.condition {
                    line.push_str(&format!(", when {condition}"));
                }
                line
            })
            .collect(),
        revocation: format!(
            "{} on {}",
            flow.revocation.action,
            flow.revocation.triggers.join(", ")
        ),
        diagram: flow_diagram(flow, findings),
        findings: findings
            .iter()
            .map(|f| FlowFindingEntry {
                id: f.id.clone(),
                status: statuses
                    .get(f.id.as_str())
                    .copied()
                    .unwrap_or(f.status.as_str())
                    .to_owned(),
                severity: f.severity.as_str().to_owned(),
                summary: f.summary.clone(),
                hint: f.hint.clone(),
            })
            .collect(),
        subcategories,
        cedar,
    }
}

fn inventory_tables(estate: &Estate, at: Timestamp) -> Vec<Table> {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".to_owned());
    let time = |t: &Option<Timestamp>| t.as_ref().map(format_utc).unwrap_or_else(|| "—".to_owned());
    let table = |title: &str, columns: &[&str], rows: Vec<Vec<String>>| Table {
        title: title.to_owned(),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows,
    };
    vec![
        table(
            "Agents",
            &["Id", "Name", "Owner", "Environment", "Autonomy", "Runs as"],
            estate
                .agents
                .iter()
                .map(|a| {
                    vec![
                        a.id.clone(),
                        a.name.clone(),
                        opt(&a.owner),
                        opt(&a.environment),
                        a.autonomy.as_str().to_owned(),
                        a.runs_as.join(", "),
                    ]
                })
                .collect(),
        ),
        table(
            "Identities",
            &["Id", "Name", "Kind", "Owner", "Provider"],
            estate
                .identities
                .iter()
                .map(|i| {
                    vec![
                        i.id.clone(),
                        i.name.clone(),
                        i.kind.as_str().to_owned(),
                        opt(&i.owner),
                        opt(&i.provider),
                    ]
                })
                .collect(),
        ),
        table(
            "Credentials",
            &[
                "Id",
                "Identity",
                "Kind",
                "Issued",
                "Expires",
                "Last rotated",
                "Last used",
            ],
            estate
                .credentials
                .iter()
                .map(|c| {
                    vec![
                        c.id.clone(),
                        c.identity.clone(),
                        c.kind.as_str().to_owned(),
                        time(&c.issued_at),
                        time(&c.expires_at),
                        time(&c.last_rotated),
                        time(&c.last_used),
                    ]
                })
                .collect(),
        ),
        table(
            "Resources",
            &[
                "Id",
                "Name",
                "Kind",
                "Sensitivity",
                "Crown jewel",
                "Environment",
            ],
            estate
                .resources
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.name.clone(),
                        r.kind.as_str().to_owned(),
                        r.sensitivity.as_str().to_owned(),
                        if r.crown_jewel { "yes" } else { "no" }.to_owned(),
                        opt(&r.environment),
                    ]
                })
                .collect(),
        ),
        table(
            "Tools",
            &["Id", "Name", "Server", "Runs as", "Acts on"],
            estate
                .tools
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone(),
                        t.name.clone(),
                        opt(&t.server),
                        opt(&t.runs_as),
                        t.acts_on
                            .iter()
                            .map(|a| format!("{} ({})", a.resource, a.actions.words().join(", ")))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ]
                })
                .collect(),
        ),
        table(
            "Grants",
            &["Id", "Subject", "Target", "Actions", "Standing", "Expires"],
            estate
                .grants
                .iter()
                .map(|g| {
                    vec![
                        g.id.clone(),
                        g.subject.clone(),
                        g.target.clone(),
                        g.actions.words().join(", "),
                        if g.standing {
                            "standing"
                        } else {
                            "just-in-time"
                        }
                        .to_owned(),
                        match g.expires_at {
                            Some(t) if t <= at => format!("{} (expired)", format_utc(&t)),
                            Some(t) => format_utc(&t),
                            None => "—".to_owned(),
                        },
                    ]
                })
                .collect(),
        ),
    ]
}

fn crosswalk() -> Vec<CrosswalkRow> {
    ControlLibrary::get()
        .controls
        .iter()
        .map(|c| {
            let items = |f: Framework| -> Vec<String> {
                c.mappings_to(f).map(|m| m.item.clone()).collect()
            };
            CrosswalkRow {
                control: c.id.clone(),
                title: c.title.clone(),
                assessment: c.assessment().to_owned(),
                nist: items(Framework::NistAiRmf),
                owasp_asi: items(Framework::OwaspAsi),
                owasp_nhi: items(Framework::OwaspNhi),
                maestro: items(Framework::Maestro),
            }
        })
        .collect()
}

/// A risk as the pack prints it; `evaluated` names the findings its acceptance covers.
fn risk_entry(r: &Risk, at: Timestamp, evaluated: &[Evaluated]) -> RiskEntry {
    let (status, expired) = r.status_at(at);
    let acceptance = match (&r.status, &r.acceptance) {
        (RiskStatus::Accepted, Some(a)) => Some(AcceptanceEntry {
            by: a.by.clone(),
            at: format_utc(&a.at),
            reason: a.reason.clone(),
            expires: format_utc(&a.expires),
            expired,
            covers: evaluated
                .iter()
                .filter(|e| e.accepted == Some(r.id))
                .map(|e| e.finding.id.clone())
                .collect(),
        }),
        _ => None,
    };
    RiskEntry {
        id: r.id,
        title: r.title.clone(),
        description: r.description.clone(),
        status: status.as_str().to_owned(),
        treatment: r.treatment.as_str().to_owned(),
        owner: r.owner.clone(),
        likelihood: r.likelihood,
        impact: r.impact,
        inherent_score: r.inherent_score(),
        residual_score: r.residual_score(),
        level: level(r.residual_score()).as_str().to_owned(),
        due: r.due.as_ref().map(format_utc),
        categories: r.categories.clone(),
        findings: r.findings.clone(),
        controls: r.controls.clone(),
        acceptance,
    }
}

fn attestation_entry(a: &Attestation, at: Timestamp) -> AttestationEntry {
    AttestationEntry {
        id: a.id,
        target_kind: a.target_kind.as_str().to_owned(),
        target: a.target.clone(),
        statement: a.statement.clone(),
        by: format!("{}@{}", a.user, a.host),
        at: format_utc(&a.at),
        file_name: a.file_name.clone(),
        file_sha256: a.file_sha256.clone(),
        expires: a.expires.as_ref().map(format_utc),
        expired: a.expires.is_some_and(|e| e <= at),
    }
}

fn title_case(word: &str) -> String {
    let lower = word.to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The bytes of the files next to the PDF.
struct Sidecars {
    snapshot_json: Vec<u8>,
    findings_json: Vec<u8>,
    /// Per flow that compiles: its id, Cedar policies and Cedar schema.
    cedar: Vec<(String, String, String)>,
}

impl Bridle {
    /// The snapshot an export at `at` is computed from: the newest one taken at or before `at`.
    async fn evidence_snapshot(&self, at: Timestamp) -> Result<SnapshotRecord, ApiError> {
        if let Some(snapshot) = self.store.snapshot_at(at).await.map_err(store_error)? {
            return Ok(snapshot);
        }
        match self.store.snapshots().await.map_err(store_error)?.first() {
            None => Err(invalid(
                "the inventory is empty: import an estate before exporting evidence",
            )),
            Some(first) => Err(invalid(format!(
                "no snapshot was taken at or before {}: the first is snapshot {} of {}",
                format_utc(&at),
                first.id,
                format_utc(&first.taken_at)
            ))),
        }
    }

    /// Assembles the evidence report of the newest snapshot at `request.at`, with the bytes of
    /// the snapshot and findings files it names.
    async fn assemble(
        &self,
        request: &EvidenceRequest,
    ) -> Result<(EvidenceReport, Sidecars), ApiError> {
        if request.framework != Framework::NistAiRmf {
            return Err(invalid(format!(
                "evidence packs are organised by NIST AI RMF functions; `{}` is not supported (its items are cross-referenced in every pack)",
                request.framework
            )));
        }
        let at = request.at;
        let snapshot = self.evidence_snapshot(at).await?;
        let estate = self
            .store
            .estate_at(snapshot.id)
            .await
            .map_err(store_error)?;
        let graph = PrivilegeGraph::build(&estate, at);
        // The register, the attestations and the flows as they stood at `at`, not as they are now.
        let risks = self.store.risks_at(at).await.map_err(store_error)?;
        let attestations: Vec<Attestation> = self
            .store
            .attestations()
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|a| a.at <= at)
            .collect();
        let audit = self.store.verify_audit().await.map_err(store_error)?;
        let head_hash = audit
            .head_hash
            .clone()
            .ok_or_else(|| internal("the audit log is empty although a snapshot exists"))?;

        // The stored flows, verified against the snapshot and checked for drift at `at`.
        let flow_evaluations: Vec<FlowEvaluation> = self
            .evaluated_flows_at(&estate, &graph, at)
            .await?
            .into_iter()
            .map(|(row, flow, findings)| FlowEvaluation {
                cedar: bridle_policy::compile_flow(&flow).map_err(|e| e.to_string()),
                row,
                flow,
                findings,
            })
            .collect();

        let framework = request.framework;
        let evaluated: Vec<Evaluated> = compliance::evaluate(&estate, &graph, at, &self.limits())
            .into_iter()
            .chain(
                flow_evaluations
                    .iter()
                    .flat_map(|e| e.findings.iter().map(compliance_finding)),
            )
            .filter(|f| compliance::check_bears_on(f.check, framework))
            .map(|finding| {
                let accepted = accepted_by(&risks, &finding, at);
                Evaluated { finding, accepted }
            })
            .collect();

        let library = ControlLibrary::get();
        let catalog = Catalog::get(framework);
        let mut functions: Vec<FunctionSection> = Vec::new();
        for item in &catalog.items {
            match item.kind.as_str() {
                "function" => functions.push(FunctionSection {
                    id: item.id.clone(),
                    title: title_case(&item.title),
                    text: item.text.clone(),
                    categories: Vec::new(),
                }),
                "category" => {
                    let function = functions.last_mut().ok_or_else(|| {
                        internal(format!("category {} precedes any function", item.id))
                    })?;
                    function.categories.push(CategorySection {
                        id: item.id.clone(),
                        title: item.title.clone(),
                        text: item.text.clone(),
                        subcategories: Vec::new(),
                    });
                }
                "subcategory" => {
                    let controls: Vec<&compliance::Control> =
                        library.controls_covering(framework, &item.id);
                    let (assessed, status, reason) =
                        assess_item(framework, &item.id, &evaluated, &attestations, at);
                    let checks: BTreeSet<&str> = controls
                        .iter()
                        .flat_map(|c| c.checks.iter().map(String::as_str))
                        .collect();
                    let finding_ids: Vec<String> = evaluated
                        .iter()
                        .filter(|f| checks.contains(f.finding.check))
                        .map(|f| f.finding.id.clone())
                        .collect();
                    let control_ids: BTreeSet<&str> =
                        controls.iter().map(|c| c.id.as_str()).collect();
                    let category_ref = format!("{}:{}", framework.as_str(), item.id);
                    let linked_risks = risks
                        .iter()
                        .filter(|r| {
                            r.categories.contains(&category_ref)
                                || r.controls.iter().any(|c| control_ids.contains(c.as_str()))
                                || r.findings.iter().any(|link| {
                                    checks.contains(link.as_str()) || finding_ids.contains(link)
                                })
                        })
                        .map(|r| r.id)
                        .collect();
                    let linked_attestations = attestations
                        .iter()
                        .filter(|a| match a.target_kind {
                            AttestationTarget::Subcategory => a.target == item.id,
                            AttestationTarget::Control => control_ids.contains(a.target.as_str()),
                        })
                        .map(|a| a.id)
                        .collect();
                    let category = functions
                        .last_mut()
                        .and_then(|f| f.categories.last_mut())
                        .ok_or_else(|| {
                            internal(format!("subcategory {} precedes any category", item.id))
                        })?;
                    category.subcategories.push(SubcategorySection {
                        id: item.id.clone(),
                        text: item.text.clone().unwrap_or_default(),
                        controls: assessed,
                        status,
                        reason,
                        findings: finding_ids,
                        risks: linked_risks,
                        attestations: linked_attestations,
                    });
                }
                _ => {}
            }
        }

        let findings: Vec<FindingEntry> = evaluated
            .iter()
            .map(|e| {
                let f = &e.finding;
                FindingEntry {
                    id: f.id.clone(),
                    check: f.check.to_owned(),
                    title: compliance::check_info(f.check)
                        .map(|c| c.title.to_owned())
                        .unwrap_or_default(),
                    subject: f.subject.clone(),
                    status: e.status().to_owned(),
                    severity: f.severity.as_str().to_owned(),
                    summary: f.summary.clone(),
                    evidence: f.evidence.clone(),
                    controls: library
                        .controls_of_check(f.check)
                        .iter()
                        .map(|c| c.id.clone())
                        .collect(),
                    accepted_by: e.accepted,
                }
            })
            .collect();

        let mut risk_entries: Vec<RiskEntry> = risks
            .iter()
            .map(|r| risk_entry(r, at, &evaluated))
            .collect();
        risk_entries.sort_by(|a, b| {
            b.residual_score
                .cmp(&a.residual_score)
                .then(a.id.cmp(&b.id))
        });

        let figures: Vec<PathFigure> = evaluated
            .iter()
            .filter(|e| {
                e.finding.check == "crown-jewel-reach"
                    && e.finding.status == Status::Fail
                    && !e.finding.paths.is_empty()
            })
            .take(MAX_FIGURES)
            .filter_map(|e| path_figure(&e.finding, &estate, &graph))
            .collect();

        let statuses: HashMap<&str, &str> = findings
            .iter()
            .map(|f| (f.id.as_str(), f.status.as_str()))
            .collect();
        let flow_sections: Vec<FlowSection> = flow_evaluations
            .iter()
            .map(|e| flow_section(e, &statuses, &functions))
            .collect();
        let cedar_files: Vec<(String, String, String)> = flow_evaluations
            .iter()
            .filter_map(|e| {
                let bundle = e.cedar.as_ref().ok()?;
                Some((
                    e.flow.id.clone(),
                    bundle.policies.clone(),
                    bundle.schema.clone(),
                ))
            })
            .collect();

        let limits = self.limits();
        let flow_limits = self.flow_limits();
        let method = Method {
            rules: assessment::RULES.iter().map(|r| (*r).to_owned()).collect(),
            thresholds: vec![
                (
                    "Credential rotation limit (days since rotation or issue)".to_owned(),
                    limits.rotation_days.to_string(),
                ),
                (
                    "Unused credential limit (days since last use)".to_owned(),
                    limits.unused_days.to_string(),
                ),
                (
                    "Longest credential validity (days)".to_owned(),
                    limits.max_ttl_days.to_string(),
                ),
                (
                    "Longest just-in-time grant of an approval flow (TTL once issued)".to_owned(),
                    flow_limits.max_grant_ttl.to_string(),
                ),
                (
                    "Longest credential of an approval flow (max TTL, or TTL without one)"
                        .to_owned(),
                    flow_limits.max_credential_ttl.to_string(),
                ),
                (
                    "Risk levels (likelihood × impact)".to_owned(),
                    "low 1–4, medium 5–9, high 10–16, critical 17–25".to_owned(),
                ),
            ],
            checks: CHECKS
                .iter()
                .chain(FLOW_CHECKS)
                .chain(DRIFT_CHECKS)
                .map(|c| {
                    let controls: Vec<String> = library
                        .controls_of_check(c.id)
                        .iter()
                        .map(|k| k.id.clone())
                        .collect();
                    (
                        c.id.to_owned(),
                        format!(
                            "{} ({}; severity {})",
                            c.title,
                            c.subject,
                            c.severity.as_str()
                        ),
                        controls.join(", "),
                    )
                })
                .collect(),
            out_of_scope: compliance::Scope::get()
                .out_of_scope()
                .map(|e| (e.id.clone(), e.reason.clone()))
                .collect(),
            crosswalk_notes: compliance::CROSSWALK_NOTES
                .iter()
                .map(|n| (*n).to_owned())
                .collect(),
        };

        let info = catalog;
        let counts = estate.counts();
        let snapshot_json = {
            let mut bytes = Vec::new();
            bridle_core::estate::write_canonical(&estate, &mut bytes)
                .map_err(|e| internal(format!("writing the snapshot: {e}")))?;
            bytes
        };
        let mut report = EvidenceReport {
            organisation: request.organisation.clone(),
            scope: format!(
                "The AI agents, their identities, credentials, tools, grants and the resources they reach, as recorded in the Bridle inventory (snapshot {} of source {}), assessed against {} {}.",
                snapshot.id, snapshot.source, info.name, info.version
            ),
            framework: FrameworkInfo {
                id: info.id.clone(),
                name: info.name.clone(),
                version: info.version.clone(),
                publisher: info.publisher.clone(),
                source: info.source.clone(),
                licence: info.licence.clone(),
            },
            at: format_utc(&at),
            snapshot: SnapshotInfo {
                id: snapshot.id,
                taken_at: format_utc(&snapshot.taken_at),
                estate_sha256: snapshot.estate_sha256.clone(),
            },
            audit: AuditInfo {
                head_hash,
                entries: audit.entries,
                acknowledged_breaks: audit
                    .acknowledged
                    .iter()
                    .map(|a| crate::convert::acknowledged_break(a).summary())
                    .collect(),
            },
            sidecars: Vec::new(),
            counts: EntityKind::ALL
                .iter()
                .map(|k| (title_case(k.plural()), counts.get(*k)))
                .collect(),
            functions,
            findings,
            risks: risk_entries,
            attestations: attestations
                .iter()
                .map(|a| attestation_entry(a, at))
                .collect(),
            figures,
            inventory: inventory_tables(&estate, at),
            method,
            crosswalk: crosswalk(),
            flows: flow_sections,
        };
        let findings_json = serde_json::to_vec_pretty(&serde_json::json!({
            "format": "bridle-findings/v1",
            "framework": report.framework.id,
            "at": report.at,
            "snapshot": report.snapshot,
            "findings": report.findings,
        }))
        .map_err(|e| internal(format!("writing the findings: {e}")))?;
        report.sidecars = vec![
            Sidecar {
                file_name: String::new(),
                what: "the canonical estate export of the snapshot".to_owned(),
                sha256: sha256_hex(&snapshot_json),
            },
            Sidecar {
                file_name: String::new(),
                what: "the findings".to_owned(),
                sha256: sha256_hex(&findings_json),
            },
        ];
        Ok((
            report,
            Sidecars {
                snapshot_json,
                findings_json,
                cedar: cedar_files,
            },
        ))
    }

    /// The evidence report model (for the OSCAL and CSV writers and the tests).
    pub async fn evidence_report(
        &self,
        request: &EvidenceRequest,
    ) -> Result<EvidenceReport, ApiError> {
        Ok(self.assemble(request).await?.0)
    }

    /// Writes the evidence PDF to `pdf`, and beside it `<pdf>.snapshot.json` (the canonical
    /// estate export of the snapshot) and `<pdf>.findings.json`, whose sha256 the PDF prints.
    pub async fn write_evidence_pdf(
        &self,
        pdf: &Path,
        request: &EvidenceRequest,
    ) -> Result<protocol::EvidenceWritten, ApiError> {
        let (mut report, sidecars) = self.assemble(request).await?;
        let snapshot_path = sidecar_path(pdf, "snapshot.json");
        let findings_path = sidecar_path(pdf, "findings.json");
        let file_name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        report.sidecars[0].file_name = file_name(&snapshot_path);
        report.sidecars[1].file_name = file_name(&findings_path);
        // Each flow's Cedar policies and schema in `<pdf>.flows/`, hashed like the others.
        let flows_dir = sidecar_path(pdf, "flows");
        let mut cedar_files: Vec<(PathBuf, &str)> = Vec::new();
        for (id, policies, schema) in &sidecars.cedar {
            for (extension, content, what) in [
                ("cedar", policies, "Cedar policies"),
                ("cedarschema", schema, "Cedar schema"),
            ] {
                let path = flows_dir.join(format!("{id}.{extension}"));
                let name = format!("{}/{id}.{extension}", file_name(&flows_dir));
                if extension == "cedar"
                    && let Some(section) = report.flows.iter_mut().find(|f| &f.id == id)
                {
                    section.cedar.file = Some(name.clone());
                }
                report.sidecars.push(Sidecar {
                    file_name: name,
                    what: format!("{what} of flow {id}"),
                    sha256: sha256_hex(content.as_bytes()),
                });
                cedar_files.push((path, content));
            }
        }
        let bytes = bridle_evidence::pdf::render(&report).map_err(|e| internal(e.to_string()))?;
        let pages = lopdf::Document::load_mem(&bytes)
            .map(|d| d.get_pages().len() as u64)
            .unwrap_or(0);
        let written = |path: &Path, content: &[u8]| -> Result<protocol::WrittenFile, ApiError> {
            write_file(path, content)?;
            Ok(protocol::WrittenFile {
                path: path.display().to_string(),
                sha256: sha256_hex(content),
                bytes: content.len() as u64,
            })
        };
        if !cedar_files.is_empty() {
            crate::files::create_private_dir(&flows_dir)
                .map_err(|e| invalid(format!("creating {}: {e}", flows_dir.display())))?;
        }
        for (path, content) in &cedar_files {
            write_file(path, content.as_bytes())?;
        }
        let snapshot_file = written(&snapshot_path, &sidecars.snapshot_json)?;
        let findings_file = written(&findings_path, &sidecars.findings_json)?;
        let pdf_file = written(pdf, &bytes)?;
        Ok(protocol::EvidenceWritten {
            pdf: pdf_file,
            snapshot_json: snapshot_file,
            findings_json: findings_file,
            snapshot: report.snapshot.id,
            estate_sha256: report.snapshot.estate_sha256,
            audit_head: report.audit.head_hash,
            at: request.at,
            pages,
        })
    }

    /// Checks what an evidence PDF states against the inventory: the snapshot it names must
    /// still rebuild to the hash it states, and the audit-chain head it states must be an entry
    /// of an intact chain. Also reports whether the current inventory differs from the snapshot.
    pub async fn verify_evidence(
        &self,
        pdf: &[u8],
    ) -> Result<protocol::EvidenceVerification, ApiError> {
        let marker = bridle_evidence::pdf::read_marker(pdf).map_err(|e| invalid(e.to_string()))?;
        let reconstructed = match self.store.estate_at(marker.snapshot).await {
            Ok(estate) => Some(bridle_core::estate::canonical_sha256(&estate)),
            Err(bridle_store::StoreError::SnapshotNotFound(_)) => None,
            Err(e) => return Err(store_error(e)),
        };
        let recorded = self
            .store
            .snapshots()
            .await
            .map_err(store_error)?
            .into_iter()
            .find(|s| s.id == marker.snapshot)
            .map(|s| s.estate_sha256);
        let snapshot_holds = reconstructed.as_deref() == Some(marker.estate_sha256.as_str())
            && recorded.as_deref() == Some(marker.estate_sha256.as_str());
        let audit = self.store.verify_audit().await.map_err(store_error)?;
        let head_in_chain = self
            .store
            .audit_entries()
            .await
            .map_err(store_error)?
            .iter()
            .any(|e| e.hash == marker.audit_head);
        let current = self.store.current_estate().await.map_err(store_error)?;
        let current_hash = bridle_core::estate::canonical_sha256(&current);
        Ok(protocol::EvidenceVerification {
            snapshot: marker.snapshot,
            inventory_changed: current_hash != marker.estate_sha256,
            stated_estate_sha256: marker.estate_sha256,
            reconstructed_estate_sha256: reconstructed,
            snapshot_holds,
            stated_audit_head: marker.audit_head,
            head_in_chain,
            chain_intact: audit.intact(),
            chain_problems: audit.problems,
            acknowledged_breaks: audit
                .acknowledged
                .iter()
                .map(|a| crate::convert::acknowledged_break(a).summary())
                .collect(),
            audit_notes: audit.notes,
            current_estate_sha256: current_hash,
        })
    }

    /// Writes the evidence as an OSCAL assessment-results document.
    pub async fn write_oscal<W: std::io::Write>(
        &self,
        request: &EvidenceRequest,
        out: W,
    ) -> Result<(), ApiError> {
        let report = self.evidence_report(request).await?;
        bridle_evidence::oscal::write(&report, out)
            .map_err(|e| internal(format!("writing the OSCAL document: {e}")))
    }

    /// Writes one table of the evidence as CSV.
    pub async fn write_csv<W: std::io::Write>(
        &self,
        request: &EvidenceRequest,
        table: CsvTable,
        out: W,
    ) -> Result<(), ApiError> {
        let report = self.evidence_report(request).await?;
        let result = match table {
            CsvTable::Findings => bridle_evidence::csv_tables::findings(&report, out),
            CsvTable::Risks => bridle_evidence::csv_tables::risks(&report, out),
            CsvTable::Inventory => bridle_evidence::csv_tables::inventory(&report, out),
        };
        result.map_err(|e| internal(format!("writing the CSV: {e}")))
    }

    /// Records a manual attestation for a control (`C03`) or a NIST AI RMF subcategory
    /// (`GOVERN 1.1`), with an optional file stored by its sha256; audited.
    pub async fn add_attestation(
        &self,
        control: Option<&str>,
        subcategory: Option<&str>,
        statement: &str,
        file: Option<&Path>,
        expires: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<protocol::Attestation, ApiError> {
        if expires.is_some_and(|e| e <= at) {
            return Err(invalid(
                "--expires: the attestation would already have expired; give a later time",
            ));
        }
        let (kind, target) = match (control, subcategory) {
            (Some(c), None) => {
                let c = c.trim().to_uppercase();
                if ControlLibrary::get().control(&c).is_none() {
                    return Err(invalid(format!(
                        "--control: `{c}` is not a control of the library (see `bridle controls`)"
                    )));
                }
                (AttestationTarget::Control, c)
            }
            (None, Some(s)) => {
                let s = s
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_uppercase();
                let known = Catalog::get(Framework::NistAiRmf)
                    .item(&s)
                    .is_some_and(|i| i.kind == "subcategory");
                if !known {
                    return Err(invalid(format!(
                        "--subcategory: `{s}` is not a NIST AI RMF subcategory (e.g. `GOVERN 1.5`)"
                    )));
                }
                if let Some(reason) = compliance::out_of_scope_reason(Framework::NistAiRmf, &s) {
                    return Err(invalid(format!(
                        "--subcategory: `{s}` is out of Bridle's scope ({reason}); an attestation \
                         here would count for nothing (see frameworks/README.md, Scope)"
                    )));
                }
                (AttestationTarget::Subcategory, s)
            }
            _ => return Err(invalid("give exactly one of --control or --subcategory")),
        };
        let statement = statement.trim();
        if statement.is_empty() {
            return Err(invalid("--statement: the statement is empty"));
        }
        let attached = match file {
            None => None,
            Some(path) => {
                let content = std::fs::read(path)
                    .map_err(|e| invalid(format!("--file {}: {e}", path.display())))?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .ok_or_else(|| {
                        invalid(format!("--file {}: not a file name", path.display()))
                    })?;
                Some(AttachedFile { name, content })
            }
        };
        let a = self
            .store
            .add_attestation(
                NewAttestation {
                    target_kind: kind,
                    target: &target,
                    statement,
                    file: attached.as_ref(),
                    expires,
                },
                at,
                &crate::current_actor(),
            )
            .await
            .map_err(store_error)?;
        Ok(attestation(&a))
    }

    pub async fn attestations(&self) -> Result<Vec<protocol::Attestation>, ApiError> {
        Ok(self
            .store
            .attestations()
            .await
            .map_err(store_error)?
            .iter()
            .map(attestation)
            .collect())
    }
}

fn attestation(a: &Attestation) -> protocol::Attestation {
    protocol::Attestation {
        id: a.id,
        target_kind: a.target_kind.as_str().to_owned(),
        target: a.target.clone(),
        statement: a.statement.clone(),
        at: a.at,
        user: a.user.clone(),
        host: a.host.clone(),
        file_name: a.file_name.clone(),
        file_sha256: a.file_sha256.clone(),
        audit_seq: a.audit_seq,
        expires: a.expires,
    }
}

/// `report.pdf` → `report.pdf.snapshot.json`.
pub fn sidecar_path(pdf: &Path, suffix: &str) -> PathBuf {
    let mut name = pdf.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `content` whole and owner-only (`files::write_private`), so a failed export never
/// leaves half a file and nobody else can read the pack.
fn write_file(path: &Path, content: &[u8]) -> Result<(), ApiError> {
    crate::files::write_private(path, content).map_err(|e| {
        api_error(
            ErrorCode::InvalidInput,
            format!("writing {}: {e}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(status: ItemStatus) -> ControlAssessment {
        ControlAssessment {
            id: "C".into(),
            title: String::new(),
            assessment: "automated".into(),
            status,
            pass: 0,
            fail: 0,
            unknown: 0,
            accepted: 0,
        }
    }

    #[test]
    fn subcategory_status_combines_controls() {
        use ItemStatus::*;
        let of = |s: &[ItemStatus]| {
            subcategory_status(&s.iter().map(|&s| control(s)).collect::<Vec<_>>(), false).0
        };
        assert_eq!(of(&[Met, Met]), Met);
        assert_eq!(of(&[NotAssessed, NotAssessed]), NotAssessed);
        assert_eq!(of(&[NotMet, NotAssessed]), NotMet);
        assert_eq!(of(&[Met, NotMet]), PartlyMet);
        assert_eq!(of(&[Met, NotAssessed]), PartlyMet);
        assert_eq!(of(&[]), NotAssessed);
        assert_eq!(subcategory_status(&[], true).0, Met);
        let (_, reason) = subcategory_status(&[control(Met), control(NotMet)], false);
        assert_eq!(
            reason,
            "2 mapped controls: 1 met, 1 not met; findings: 0 pass, 0 fail, 0 unknown, 0 accepted."
        );
        assert_eq!(of(&[Met, ExceptionAccepted]), ExceptionAccepted);
    }
}
