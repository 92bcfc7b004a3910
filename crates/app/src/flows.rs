//! Approval flows: import and export of `bridle.flow/v1` documents, the designer's preview and
//! save, verification, drift against the live inventory, the reach under a flow, and the Cedar
//! policies with their simulator.

use std::collections::{BTreeMap, BTreeSet};

use bridle_core::compliance::{ControlLibrary, Finding, Status};
use bridle_core::flow::{
    self, BrokerFacts, BrokerRole, Flow, FlowContext, FlowFinding, FlowLimits, SpireEntry, StepKind,
};
use bridle_core::graph::PrivilegeGraph;
use bridle_core::model::Estate;
use bridle_core::time::Timestamp;
use bridle_protocol::flows as wire;
use bridle_store::{Actor, FlowSaved, NewFlowVersion, StoredFlow};

use crate::Bridle;
use crate::error::{ApiError, ErrorCode, api_error, store_error};

/// A flow document read from a file (or the designer), with the name it is reported under.
#[derive(Debug, Clone)]
pub struct FlowFile {
    pub name: String,
    pub text: String,
}

fn invalid(message: String) -> ApiError {
    api_error(ErrorCode::InvalidInput, message)
}

fn not_found(id: &str) -> ApiError {
    api_error(
        ErrorCode::NotFound,
        format!("no flow `{id}` (see `bridle flow ls`)"),
    )
}

/// Reads a stored document; stored documents were valid when saved, so a failure is corruption.
fn stored(flow: &StoredFlow) -> Result<Flow, ApiError> {
    flow::parse_flow(&flow.document).map_err(|e| {
        api_error(
            ErrorCode::Internal,
            format!(
                "stored flow `{}` version {} no longer reads: {e}",
                flow.id, flow.version
            ),
        )
    })
}

fn status_word(status: Status) -> &'static str {
    status.as_str()
}

fn wire_finding(f: &FlowFinding) -> wire::FlowFinding {
    wire::FlowFinding {
        id: f.id.clone(),
        check: f.check.to_owned(),
        title: flow::flow_check_info(f.check)
            .map(|c| c.title.to_owned())
            .unwrap_or_default(),
        flow: f.flow.clone(),
        step: f.step.clone(),
        subject: f.subject.clone(),
        status: status_word(f.status).to_owned(),
        severity: f.severity.as_str().to_owned(),
        summary: f.summary.clone(),
        evidence: f.evidence.clone(),
        hint: f.hint.clone(),
        path: f.path.clone(),
        entities: f.entities.clone(),
        controls: ControlLibrary::get()
            .controls_of_check(f.check)
            .iter()
            .map(|c| c.id.clone())
            .collect(),
    }
}

/// A flow finding as a finding of the compliance pipeline (checks, coverage, evidence, risks).
pub(crate) fn compliance_finding(f: &FlowFinding) -> Finding {
    let mut evidence = f.evidence.clone();
    if !f.path.is_empty() && f.check != "flow-drift-excess-reach" {
        evidence.push(format!("steps: {}", f.path.join(" → ")));
    }
    if let Some(hint) = &f.hint {
        evidence.push(format!("fix: {hint}"));
    }
    Finding {
        id: f.id.clone(),
        check: f.check,
        subject: format!("flow:{}/{}", f.flow, f.subject),
        status: f.status,
        severity: f.severity,
        summary: format!("Flow {}: {}", f.flow, f.summary),
        entities: f.entities.clone(),
        evidence,
        // Only the excess-reach path is a privilege path (entity ids); the others are steps.
        paths: if f.check == "flow-drift-excess-reach" && !f.path.is_empty() {
            vec![f.path.clone()]
        } else {
            Vec::new()
        },
    }
}

/// The flow document as the protocol's draft (same shape, see `protocol::flows`).
pub(crate) fn draft_of(flow: &Flow) -> wire::FlowDraft {
    serde_json::to_value(flow)
        .and_then(serde_json::from_value)
        .expect("the protocol draft mirrors the flow document")
}

impl Bridle {
    pub(crate) fn flow_limits(&self) -> FlowLimits {
        FlowLimits::default()
    }

    pub(crate) async fn stored_flows(&self) -> Result<Vec<(StoredFlow, Flow)>, ApiError> {
        let rows = self.store.flows().await.map_err(store_error)?;
        rows.into_iter()
            .map(|row| {
                let flow = stored(&row)?;
                Ok((row, flow))
            })
            .collect()
    }

    async fn stored_flow(&self, id: &str) -> Result<(StoredFlow, Flow), ApiError> {
        let row = self
            .store
            .flow(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))?;
        let flow = stored(&row)?;
        Ok((row, flow))
    }

    /// The brokers' role facts from each profile's latest successful sync, and the SPIRE entries
    /// of every import source's latest import.
    pub(crate) async fn broker_facts(&self) -> Result<BrokerFacts, ApiError> {
        let mut facts = BrokerFacts::default();
        for profile in self.store.broker_profiles().await.map_err(store_error)? {
            let runs = self
                .store
                .sync_runs(&profile.name)
                .await
                .map_err(store_error)?;
            let Some(run) = runs.iter().rev().find(|r| r.status == "ok") else {
                continue;
            };
            facts.synced.insert(profile.name.clone());
            for observation in self
                .store
                .sync_observations(run.id)
                .await
                .map_err(store_error)?
                .into_iter()
                .filter(|o| o.kind == "vault.role")
            {
                let Ok(serde_json::Value::Object(map)) =
                    serde_json::from_str::<serde_json::Value>(&observation.facts)
                else {
                    continue;
                };
                let text = |key: &str| map.get(key).and_then(|v| v.as_str()).map(str::to_owned);
                let secs = |key: &str| map.get(key).and_then(|v| v.as_u64());
                facts.roles.push(BrokerRole {
                    broker: profile.name.clone(),
                    mount: text("mount").unwrap_or_default(),
                    name: text("name").unwrap_or_default(),
                    ttl_secs: secs("token_ttl"),
                    max_ttl_secs: secs("token_max_ttl"),
                });
            }
        }
        // SPIRE entries come from file imports: each source's latest import.
        for row in self
            .store
            .import_observations_of_kind("spire.entry")
            .await
            .map_err(store_error)?
        {
            let Ok(serde_json::Value::Object(map)) =
                serde_json::from_str::<serde_json::Value>(&row.observation.facts)
            else {
                continue;
            };
            // SPIRE's 0 is "the server's default", which the file does not state.
            let secs = |key: &str| map.get(key).and_then(|v| v.as_u64()).filter(|&t| t > 0);
            facts.spire_entries.push(SpireEntry {
                source: row.source,
                entry: row.observation.id,
                spiffe_id: map
                    .get("spiffe_id")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                x509_svid_ttl_secs: secs("x509_svid_ttl"),
                jwt_svid_ttl_secs: secs("jwt_svid_ttl"),
            });
        }
        Ok(facts)
    }

    pub(crate) fn verify_with(
        &self,
        flow: &Flow,
        estate: &Estate,
        all: &[Flow],
    ) -> Vec<FlowFinding> {
        flow::verify_flow(
            flow,
            &FlowContext {
                estate: Some(estate),
                other_flows: all,
                limits: self.flow_limits(),
            },
        )
    }

    /// Reads flow documents (YAML or JSON) and saves them all, or none: every problem of every
    /// file is reported with its file and its path in the document.
    pub async fn flow_import(
        &self,
        files: &[FlowFile],
        at: Timestamp,
        actor: &Actor,
    ) -> Result<wire::FlowImportReport, ApiError> {
        let mut problems = Vec::new();
        let mut versions = Vec::new();
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for file in files {
            match flow::parse_flow(&file.text) {
                Err(error) => problems.extend(
                    error
                        .problems
                        .iter()
                        .map(|p| format!("{}: {}: {}", file.name, p.path, p.message)),
                ),
                Ok(flow) => {
                    if let Some(first) = seen.insert(flow.id.clone(), &file.name) {
                        problems.push(format!(
                            "{}: flow.id: `{}` is also the id of the flow in {first}",
                            file.name, flow.id
                        ));
                    }
                    versions.push(NewFlowVersion {
                        id: flow.id,
                        agent: flow.agent,
                        document: file.text.clone(),
                    });
                }
            }
        }
        if !problems.is_empty() {
            return Err(invalid(format!(
                "no flow was imported; {} problem{}:\n{}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                problems.join("\n")
            )));
        }
        let outcomes = self
            .store
            .save_flows(&versions, at, actor)
            .await
            .map_err(store_error)?;
        Ok(wire::FlowImportReport {
            flows: versions
                .iter()
                .zip(files)
                .zip(outcomes)
                .map(|((v, file), outcome)| imported(&v.id, &file.name, outcome))
                .collect(),
        })
    }

    /// Saves a flow built in the designer (as YAML, the way it is exported).
    pub async fn flow_save(
        &self,
        draft: &wire::FlowDraft,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<wire::FlowView, ApiError> {
        let flow = read_draft(draft).map_err(|problems| {
            invalid(format!(
                "the flow is not saved: {}",
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let file = FlowFile {
            name: "designer".to_owned(),
            text: flow::flow_to_yaml(&flow),
        };
        self.flow_import(&[file], at, actor).await?;
        self.flow_show(&flow.id).await
    }

    /// Verifies a draft without saving it (the designer's live view).
    pub async fn flow_preview(&self, draft: &wire::FlowDraft) -> Result<wire::FlowView, ApiError> {
        let flow = match read_draft(draft) {
            Ok(flow) => flow,
            Err(problems) => {
                return Ok(wire::FlowView {
                    summary: None,
                    draft: draft.clone(),
                    yaml: String::new(),
                    diagram: diagram_of_draft(draft, &[]),
                    problems,
                    findings: Vec::new(),
                });
            }
        };
        let stored = self.store.flow(&flow.id).await.map_err(store_error)?;
        self.flow_view(flow, stored).await
    }

    async fn flow_view(
        &self,
        flow: Flow,
        stored: Option<StoredFlow>,
    ) -> Result<wire::FlowView, ApiError> {
        let estate = self.estate(None).await?;
        let others: Vec<Flow> = self
            .stored_flows()
            .await?
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| f.id != flow.id)
            .collect();
        let findings = self.verify_with(&flow, &estate, &others);
        let draft = draft_of(&flow);
        Ok(wire::FlowView {
            summary: stored.map(|row| summary(&row, &flow, &findings)),
            yaml: flow::flow_to_yaml(&flow),
            diagram: diagram_of_draft(&draft, &findings),
            draft,
            problems: Vec::new(),
            findings: findings.iter().map(wire_finding).collect(),
        })
    }

    /// Every stored flow with its verification totals (design checks do not depend on time).
    pub async fn flow_list(&self) -> Result<Vec<wire::FlowSummary>, ApiError> {
        let estate = self.estate(None).await?;
        let flows = self.stored_flows().await?;
        let all: Vec<Flow> = flows.iter().map(|(_, f)| f.clone()).collect();
        Ok(flows
            .iter()
            .map(|(row, flow)| summary(row, flow, &self.verify_with(flow, &estate, &all)))
            .collect())
    }

    /// One stored flow: document, diagram and verification.
    pub async fn flow_show(&self, id: &str) -> Result<wire::FlowView, ApiError> {
        let (row, flow) = self.stored_flow(id).await?;
        self.flow_view(flow, Some(row)).await
    }

    /// The stored document, as it was imported or saved.
    pub async fn flow_export(&self, id: &str) -> Result<String, ApiError> {
        Ok(self.stored_flow(id).await?.0.document)
    }

    /// Verification (and, with `drift`, the drift checks) of one stored flow or all.
    pub async fn flow_check(
        &self,
        id: Option<&str>,
        drift: bool,
        at: Timestamp,
    ) -> Result<Vec<wire::FlowFinding>, ApiError> {
        let flows: Vec<Flow> = self
            .stored_flows()
            .await?
            .into_iter()
            .map(|(_, f)| f)
            .collect();
        if let Some(id) = id
            && !flows.iter().any(|f| f.id == id)
        {
            return Err(not_found(id));
        }
        let chosen: Vec<&Flow> = flows
            .iter()
            .filter(|f| id.is_none_or(|id| f.id == id))
            .collect();
        self.check_flows(&chosen, &flows, drift, at).await
    }

    /// Verifies flow documents without saving them (a review of a change before it is merged):
    /// against the inventory and the stored flows, each file's flow taking the place of a stored
    /// one with its id. A file that is not a flow is an error naming every problem.
    pub async fn flow_check_files(
        &self,
        files: &[FlowFile],
        drift: bool,
        at: Timestamp,
    ) -> Result<Vec<wire::FlowFinding>, ApiError> {
        let mut problems = Vec::new();
        let mut candidates = Vec::new();
        for file in files {
            match flow::parse_flow(&file.text) {
                Ok(flow) => candidates.push(flow),
                Err(error) => problems.extend(
                    error
                        .problems
                        .iter()
                        .map(|p| format!("{}: {}: {}", file.name, p.path, p.message)),
                ),
            }
        }
        if !problems.is_empty() {
            return Err(invalid(problems.join("\n")));
        }
        let mut all: Vec<Flow> = self
            .stored_flows()
            .await?
            .into_iter()
            .map(|(_, f)| f)
            .filter(|f| !candidates.iter().any(|c| c.id == f.id))
            .collect();
        all.extend(candidates.iter().cloned());
        let chosen: Vec<&Flow> = candidates.iter().collect();
        self.check_flows(&chosen, &all, drift, at).await
    }

    async fn check_flows(
        &self,
        chosen: &[&Flow],
        all: &[Flow],
        drift: bool,
        at: Timestamp,
    ) -> Result<Vec<wire::FlowFinding>, ApiError> {
        let estate = self.estate(None).await?;
        let graph = drift.then(|| PrivilegeGraph::build(&estate, at));
        let facts = if drift {
            self.broker_facts().await?
        } else {
            BrokerFacts::default()
        };
        let mut out = Vec::new();
        for flow in chosen {
            out.extend(
                self.verify_with(flow, &estate, all)
                    .iter()
                    .map(wire_finding),
            );
            if let Some(graph) = &graph {
                let drift = flow::flow_drift(flow, &estate, graph, &facts, at);
                out.extend(drift.findings.iter().map(wire_finding));
            }
        }
        Ok(out)
    }

    /// Every stored flow with its design and drift findings at `at`: what the findings
    /// pipeline and the evidence pack both report.
    pub(crate) async fn evaluated_flows(
        &self,
        estate: &Estate,
        graph: &PrivilegeGraph,
        at: Timestamp,
    ) -> Result<Vec<(StoredFlow, Flow, Vec<FlowFinding>)>, ApiError> {
        let stored = self.stored_flows().await?;
        self.evaluate_flows(stored, estate, graph, at).await
    }

    /// Like `evaluated_flows`, for the flows as they stood at `at` (evidence at an earlier time).
    pub(crate) async fn evaluated_flows_at(
        &self,
        estate: &Estate,
        graph: &PrivilegeGraph,
        at: Timestamp,
    ) -> Result<Vec<(StoredFlow, Flow, Vec<FlowFinding>)>, ApiError> {
        let stored = self
            .store
            .flows_at(at)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|row| {
                let flow = stored(&row)?;
                Ok((row, flow))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        self.evaluate_flows(stored, estate, graph, at).await
    }

    async fn evaluate_flows(
        &self,
        stored: Vec<(StoredFlow, Flow)>,
        estate: &Estate,
        graph: &PrivilegeGraph,
        at: Timestamp,
    ) -> Result<Vec<(StoredFlow, Flow, Vec<FlowFinding>)>, ApiError> {
        if stored.is_empty() {
            return Ok(Vec::new());
        }
        let all: Vec<Flow> = stored.iter().map(|(_, f)| f.clone()).collect();
        let facts = self.broker_facts().await?;
        Ok(stored
            .into_iter()
            .map(|(row, flow)| {
                let mut findings = self.verify_with(&flow, estate, &all);
                findings.extend(flow::flow_drift(&flow, estate, graph, &facts, at).findings);
                (row, flow, findings)
            })
            .collect())
    }

    /// Every flow's design and drift findings, for the compliance pipeline.
    pub(crate) async fn flow_findings(
        &self,
        estate: &Estate,
        graph: &PrivilegeGraph,
        at: Timestamp,
    ) -> Result<Vec<Finding>, ApiError> {
        Ok(self
            .evaluated_flows(estate, graph, at)
            .await?
            .iter()
            .flat_map(|(_, _, findings)| findings.iter().map(compliance_finding))
            .collect())
    }

    /// The flow against the live inventory and the brokers at `at`.
    pub async fn flow_drift(
        &self,
        id: &str,
        at: Timestamp,
    ) -> Result<wire::FlowDriftView, ApiError> {
        let (_, flow) = self.stored_flow(id).await?;
        let estate = self.estate(None).await?;
        let graph = PrivilegeGraph::build(&estate, at);
        let facts = self.broker_facts().await?;
        let drift = flow::flow_drift(&flow, &estate, &graph, &facts, at);
        Ok(wire::FlowDriftView {
            flow: drift.flow.clone(),
            at,
            findings: drift.findings.iter().map(wire_finding).collect(),
            excess: drift.excess.map(|excess| {
                excess
                    .into_iter()
                    .map(|e| wire::ExcessAccess {
                        resource: e.resource,
                        actions: e.actions.words().into_iter().map(str::to_owned).collect(),
                        hops: e.hops,
                        path: e.path,
                    })
                    .collect()
            }),
        })
    }

    /// The agent's reach under the flow next to its reach today.
    pub async fn flow_what_if(
        &self,
        id: &str,
        at: Timestamp,
    ) -> Result<wire::FlowWhatIfView, ApiError> {
        let (_, flow) = self.stored_flow(id).await?;
        let estate = self.estate(None).await?;
        let what_if = flow::flow_what_if(&flow, &estate, at)
            .map_err(|e| api_error(ErrorCode::NotFound, format!("flow {id}: {e}")))?;
        let words = |set: bridle_core::model::ActionSet| -> Vec<String> {
            set.words().into_iter().map(str::to_owned).collect()
        };
        let lost: BTreeSet<&str> = what_if.lost().map(|r| r.resource.as_str()).collect();
        let shrunk: BTreeSet<&str> = what_if.shrunk().map(|r| r.resource.as_str()).collect();
        let gained: BTreeSet<&str> = what_if.gained().map(|r| r.resource.as_str()).collect();
        let rows: Vec<wire::ReachChange> = what_if
            .resources
            .iter()
            .map(|r| {
                let id = r.resource.as_str();
                let change = if lost.contains(id) {
                    "lost"
                } else if shrunk.contains(id) {
                    "shrunk"
                } else if gained.contains(id) && r.today.is_empty() {
                    "gained"
                } else if gained.contains(id) {
                    "changed"
                } else {
                    "kept"
                };
                wire::ReachChange {
                    resource: r.resource.clone(),
                    today: words(r.today),
                    under_flow: words(r.under_flow),
                    change: change.to_owned(),
                }
            })
            .collect();
        let count = |word: &str| rows.iter().filter(|r| r.change == word).count() as u32;
        Ok(wire::FlowWhatIfView {
            flow: what_if.flow.clone(),
            agent: what_if.agent.clone(),
            at,
            identity: what_if.identity.clone(),
            lost: count("lost"),
            shrunk: count("shrunk"),
            gained: count("gained") + count("changed"),
            kept: count("kept"),
            unknown_resources: what_if.unknown_resources.clone(),
            rows,
        })
    }

    /// The Cedar schema and policies generated from a flow.
    pub async fn flow_cedar(&self, id: &str) -> Result<wire::CedarOutput, ApiError> {
        let (_, flow) = self.stored_flow(id).await?;
        cedar_of(&flow)
    }

    /// Cedar for a draft in the designer.
    pub fn flow_cedar_draft(draft: &wire::FlowDraft) -> Result<wire::CedarOutput, ApiError> {
        cedar_of(&valid_draft(draft)?)
    }

    /// Answers one request with the flow's Cedar policies.
    pub async fn flow_simulate(
        &self,
        id: &str,
        request: &wire::SimulationRequest,
    ) -> Result<wire::SimulationDecision, ApiError> {
        let (_, flow) = self.stored_flow(id).await?;
        simulate_on(&flow, request)
    }

    /// The simulator on a draft in the designer.
    pub fn flow_simulate_draft(
        draft: &wire::FlowDraft,
        request: &wire::SimulationRequest,
    ) -> Result<wire::SimulationDecision, ApiError> {
        simulate_on(&valid_draft(draft)?, request)
    }

    /// Removes a flow (its versions stay in the history and the audit log).
    pub async fn flow_delete(
        &self,
        id: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<(), ApiError> {
        if self
            .store
            .delete_flow(id, at, actor)
            .await
            .map_err(store_error)?
        {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }
}

fn cedar_of(flow: &Flow) -> Result<wire::CedarOutput, ApiError> {
    let bundle = bridle_policy::compile_flow(flow).map_err(|e| invalid(e.to_string()))?;
    Ok(wire::CedarOutput {
        flow: flow.id.clone(),
        schema: bundle.schema,
        policies: bundle.policies,
        policy_ids: bundle.policy_ids,
    })
}

fn simulate_on(
    flow: &Flow,
    request: &wire::SimulationRequest,
) -> Result<wire::SimulationDecision, ApiError> {
    let decision = bridle_policy::simulate(
        flow,
        &bridle_policy::SimulationRequest {
            principal: request.principal.clone(),
            action: request.action.clone(),
            resource: request.resource.clone(),
            context: request.context.clone(),
        },
    )
    .map_err(|e| invalid(e.to_string()))?;
    Ok(wire::SimulationDecision {
        flow: flow.id.clone(),
        decision: if decision.allowed { "allow" } else { "deny" }.to_owned(),
        policies: decision.policies,
        errors: decision.errors,
    })
}

fn imported(id: &str, file: &str, outcome: FlowSaved) -> wire::FlowImported {
    let (word, version) = match outcome {
        FlowSaved::Created => ("created", Some(1)),
        FlowSaved::Updated(v) => ("updated", Some(v)),
        FlowSaved::Unchanged => ("unchanged", None),
    };
    wire::FlowImported {
        id: id.to_owned(),
        file: file.to_owned(),
        outcome: word.to_owned(),
        version,
    }
}

/// A draft that must be a valid flow already (for Cedar and the simulator); the error names the
/// first problem.
fn valid_draft(draft: &wire::FlowDraft) -> Result<Flow, ApiError> {
    read_draft(draft).map_err(|problems| {
        let first = problems
            .first()
            .map(|p| format!(": {}: {}", p.path, p.message))
            .unwrap_or_default();
        invalid(format!(
            "the flow is not valid yet ({} problem{}){first}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ))
    })
}

/// Reads a designer draft with the document reader, so its problems are located the same way.
fn read_draft(draft: &wire::FlowDraft) -> Result<Flow, Vec<wire::FlowProblem>> {
    let document = serde_json::json!({ "format": flow::FLOW_FORMAT, "flow": draft });
    let text = serde_json::to_string(&document).expect("a draft serialises");
    flow::parse_flow(&text).map_err(|e| {
        e.problems
            .into_iter()
            .map(|p| wire::FlowProblem {
                path: p.path,
                message: p.message,
            })
            .collect()
    })
}

fn summary(row: &StoredFlow, flow: &Flow, findings: &[FlowFinding]) -> wire::FlowSummary {
    let count = |s: Status| findings.iter().filter(|f| f.status == s).count() as u32;
    wire::FlowSummary {
        id: row.id.clone(),
        agent: flow.agent.clone(),
        purpose: flow.purpose.clone(),
        environment: flow.environment.clone(),
        data_sensitivity: flow.data_sensitivity.clone(),
        version: row.version,
        updated_at: row.at,
        updated_by: format!("{}@{}", row.user, row.host),
        sha256: row.sha256.clone(),
        steps: flow.steps.len() as u32,
        grants: flow.grants.len() as u32,
        pass: count(Status::Pass),
        fail: count(Status::Fail),
        unknown: count(Status::Unknown),
    }
}

const COLUMN: f64 = 210.0;
const ROW: f64 = 120.0;
const MARGIN: f64 = 90.0;

/// Lays the steps out in layers by their distance from the start (breadth first), in the order
/// a reader follows them; steps the start does not reach go to a last layer.
pub(crate) fn diagram_of_draft(
    draft: &wire::FlowDraft,
    findings: &[FlowFinding],
) -> wire::FlowDiagram {
    let index: BTreeMap<&str, usize> = draft
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut layer: Vec<Option<u32>> = vec![None; draft.steps.len()];
    let mut order = Vec::new();
    if let Some(&start) = index.get(draft.start.as_str()) {
        layer[start] = Some(0);
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for next in &draft.steps[i].next {
                if let Some(&j) = index.get(next.as_str())
                    && layer[j].is_none()
                {
                    layer[j] = Some(layer[i].unwrap_or(0) + 1);
                    queue.push_back(j);
                }
            }
        }
    }
    let last = layer.iter().flatten().max().map_or(0, |l| l + 1);
    for (i, l) in layer.iter_mut().enumerate() {
        if l.is_none() {
            *l = Some(last);
            order.push(i);
        }
    }
    let mut rows_in_layer: BTreeMap<u32, u32> = BTreeMap::new();
    let mut position = vec![(0u32, 0u32); draft.steps.len()];
    for &i in &order {
        let l = layer[i].unwrap_or(0);
        let row = rows_in_layer.entry(l).or_default();
        position[i] = (l, *row);
        *row += 1;
    }
    let highlighted: BTreeSet<(String, String)> = findings
        .iter()
        .filter(|f| f.status == Status::Fail && f.check != "flow-drift-excess-reach")
        .flat_map(|f| f.path.windows(2).map(|w| (w[0].clone(), w[1].clone())))
        .collect();
    let nodes: Vec<wire::FlowNode> = draft
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let about: Vec<&FlowFinding> = findings
                .iter()
                .filter(|f| f.step.as_deref() == Some(step.id.as_str()))
                .collect();
            let status = if about.iter().any(|f| f.status == Status::Fail) {
                "fail"
            } else if about.iter().any(|f| f.status == Status::Unknown) {
                "unknown"
            } else if about.is_empty() {
                "none"
            } else {
                "pass"
            };
            let (l, row) = position[i];
            wire::FlowNode {
                id: step.id.clone(),
                kind: step.kind.clone(),
                label: step.title.clone().unwrap_or_else(|| step.id.clone()),
                detail: step_detail(step),
                layer: l,
                x: MARGIN + f64::from(l) * COLUMN,
                y: MARGIN * 0.6 + f64::from(row) * ROW,
                status: status.to_owned(),
                messages: about
                    .iter()
                    .filter(|f| f.status != Status::Pass)
                    .map(|f| f.summary.clone())
                    .collect(),
                is_start: step.id == draft.start,
            }
        })
        .collect();
    let edges = draft
        .steps
        .iter()
        .flat_map(|step| {
            step.next
                .iter()
                .filter(|next| index.contains_key(next.as_str()))
                .map(|next| wire::FlowEdge {
                    from: step.id.clone(),
                    to: next.clone(),
                    highlighted: highlighted.contains(&(step.id.clone(), next.clone())),
                })
        })
        .collect();
    let layers = f64::from(last.max(1));
    let rows = f64::from(rows_in_layer.values().copied().max().unwrap_or(1));
    wire::FlowDiagram {
        width: MARGIN * 2.0 + layers * COLUMN,
        height: MARGIN * 1.2 + rows * ROW,
        nodes,
        edges,
    }
}

fn step_detail(step: &wire::StepDraft) -> String {
    if let Some(a) = &step.approval {
        let who: Vec<String> = a
            .approvers
            .iter()
            .map(|p| {
                p.person
                    .clone()
                    .or_else(|| p.role.as_ref().map(|r| format!("role {r}")))
                    .unwrap_or_default()
            })
            .collect();
        return format!("{} of {}", a.quorum, who.join(", "));
    }
    if let Some(i) = &step.issue {
        return format!("{} {} · ttl {}", i.broker, i.role, i.ttl);
    }
    if let Some(c) = &step.tool_call {
        let staged = if c.stages.is_some() { " · stages" } else { "" };
        return format!("{} {}{staged}", c.actions.join(","), c.resource);
    }
    if step.kind == StepKind::Revoke.as_str() {
        return match &step.revoke {
            Some(r) if !r.credentials.is_empty() => format!("revokes {}", r.credentials.join(", ")),
            _ => "revokes everything issued".to_owned(),
        };
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOUND: &str = include_str!("../../core/src/flow/fixtures/sound.yaml");

    #[test]
    fn drafts_mirror_documents_both_ways() {
        let flow = flow::parse_flow(SOUND).unwrap();
        let draft = draft_of(&flow);
        assert_eq!(read_draft(&draft).unwrap(), flow);
        assert_eq!(draft.grants[0].ttl.as_deref(), Some("15m"));
    }

    #[test]
    fn the_diagram_layers_steps_from_the_start_and_marks_failures() {
        let mut flow = flow::parse_flow(SOUND).unwrap();
        // Staging before the approval: the path to `stage` is highlighted, `stage` fails.
        flow.start = "issue-db".into();
        let findings = flow::verify_flow(
            &flow,
            &FlowContext {
                estate: None,
                other_flows: &[],
                limits: FlowLimits::default(),
            },
        );
        let diagram = diagram_of_draft(&draft_of(&flow), &findings);
        let node = |id: &str| diagram.nodes.iter().find(|n| n.id == id).unwrap();
        assert_eq!(node("issue-db").layer, 0);
        assert_eq!(node("fetch").layer, 1);
        assert_eq!(node("stage").status, "fail");
        assert!(
            node("stage")
                .messages
                .iter()
                .any(|m| m.contains("without any approval"))
        );
        assert!(
            diagram
                .edges
                .iter()
                .any(|e| e.from == "fetch" && e.to == "stage" && e.highlighted)
        );
        // `approve` and `rejected` are no longer reached: they sit in the last layer.
        assert_eq!(node("approve").layer, node("rejected").layer);
    }
}
