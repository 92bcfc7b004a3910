//! Frameworks, controls, findings and coverage: the automated checks run over the current
//! inventory at an explicit time, with accepted risks applied.

use std::collections::HashMap;
use std::sync::Arc;

use bridle_core::Estate;
use bridle_core::compliance::{
    self, Catalog, ControlLibrary, Finding, Framework, Limits, Passes, Severity, Status, Tally,
};
use bridle_core::flow::{DRIFT_CHECKS, FLOW_CHECKS};
use bridle_core::graph::PrivilegeGraph;
use bridle_core::risk::Risk;
use bridle_core::time::Timestamp;
use bridle_protocol::compliance as protocol;

use crate::Bridle;
use crate::error::{ApiError, ErrorCode, api_error, store_error};
use crate::evidence::{Evaluated, assess_item};
use crate::flows::compliance_finding;

/// Reads a framework id (`nist-ai-rmf`, `owasp-asi`, `owasp-nhi`, `maestro`).
pub fn parse_framework(word: &str) -> Result<Framework, ApiError> {
    Framework::parse(word).ok_or_else(|| {
        api_error(
            ErrorCode::InvalidInput,
            format!(
                "unknown framework `{word}`; expected one of {}",
                Framework::ALL.map(Framework::as_str).join(", ")
            ),
        )
    })
}

/// Reads a severity (`low`, `medium`, `high`, `critical`).
pub fn parse_severity(word: &str) -> Result<Severity, ApiError> {
    Severity::parse(word).ok_or_else(|| {
        api_error(
            ErrorCode::InvalidInput,
            format!("unknown severity `{word}`; expected low, medium, high or critical"),
        )
    })
}

/// Every framework's catalog header.
pub fn frameworks() -> Vec<protocol::FrameworkInfo> {
    Framework::ALL.into_iter().map(framework_info).collect()
}

fn framework_info(framework: Framework) -> protocol::FrameworkInfo {
    let c = Catalog::get(framework);
    protocol::FrameworkInfo {
        id: c.id.clone(),
        name: c.name.clone(),
        version: c.version.clone(),
        publisher: c.publisher.clone(),
        source: c.source.clone(),
        licence: c.licence.clone(),
        id_note: c.id_note.clone(),
        counts: c
            .counts
            .iter()
            .map(|(k, v)| (k.clone(), *v as u64))
            .collect(),
    }
}

/// The items of one catalog, in catalog order.
pub fn catalog(framework: Framework) -> Vec<protocol::CatalogItem> {
    Catalog::get(framework)
        .items
        .iter()
        .map(|i| protocol::CatalogItem {
            id: i.id.clone(),
            kind: i.kind.clone(),
            parent: i.parent.clone(),
            title: i.title.clone(),
            text: i.text.clone(),
            summary: i.summary.clone(),
            source: i.source.clone(),
            local_id: i.local_id,
        })
        .collect()
}

fn is_local(framework: Framework, item: &str) -> bool {
    Catalog::get(framework)
        .item(item)
        .is_some_and(|i| i.local_id)
}

/// The control library with its crosswalk (narrowed to one framework's mappings when given).
pub fn controls(framework: Option<Framework>) -> Vec<protocol::Control> {
    ControlLibrary::get()
        .controls
        .iter()
        .map(|c| protocol::Control {
            id: c.id.clone(),
            title: c.title.clone(),
            practice: c.practice.clone(),
            assessment: c.assessment().to_owned(),
            checks: c.checks.clone(),
            mappings: c
                .mappings
                .iter()
                .filter(|m| framework.is_none_or(|f| f == m.framework))
                .map(|m| protocol::ControlMapping {
                    framework: m.framework.as_str().to_owned(),
                    item: m.item.clone(),
                    title: Catalog::get(m.framework)
                        .item(&m.item)
                        .map(|i| i.title.clone())
                        .unwrap_or_default(),
                    local_id: is_local(m.framework, &m.item),
                    rationale: m.rationale.clone(),
                })
                .collect(),
        })
        .collect()
}

/// The risk accepted (and unexpired at `at`) that covers `finding`, if any.
pub(crate) fn accepted_by(risks: &[Risk], finding: &Finding, at: Timestamp) -> Option<i64> {
    if finding.status != Status::Fail {
        return None;
    }
    risks.iter().find(|r| r.covers(finding, at)).map(|r| r.id)
}

/// What every finding of one check says alike (its title, controls and framework items), worked
/// out once per check for a report rather than once per finding: a large estate has hundreds of
/// thousands of findings of some twenty checks.
struct CheckFacts {
    title: String,
    controls: Vec<String>,
    framework_items: Vec<protocol::FrameworkRef>,
    /// Whether the check bears on the framework the report is narrowed to (if any).
    in_report: bool,
}

impl CheckFacts {
    fn of(check: &str, framework: Option<Framework>) -> CheckFacts {
        CheckFacts {
            title: compliance::check_info(check)
                .map(|c| c.title.to_owned())
                .unwrap_or_default(),
            controls: ControlLibrary::get()
                .controls_of_check(check)
                .iter()
                .map(|c| c.id.clone())
                .collect(),
            framework_items: compliance::framework_items(check)
                .into_iter()
                .map(|(framework, item)| protocol::FrameworkRef {
                    framework: framework.as_str().to_owned(),
                    item: item.to_owned(),
                    local_id: is_local(framework, item),
                })
                .collect(),
            in_report: framework.is_none_or(|fw| compliance::check_bears_on(check, fw)),
        }
    }
}

fn finding(f: &Finding, accepted: Option<i64>, facts: &CheckFacts) -> protocol::Finding {
    protocol::Finding {
        id: f.id.clone(),
        check: f.check.to_owned(),
        title: facts.title.clone(),
        subject: f.subject.clone(),
        status: if accepted.is_some() {
            "accepted".to_owned()
        } else {
            f.status.as_str().to_owned()
        },
        severity: f.severity.as_str().to_owned(),
        summary: f.summary.clone(),
        entities: f.entities.clone(),
        evidence: f.evidence.clone(),
        paths: f.paths.clone(),
        controls: facts.controls.clone(),
        framework_items: facts.framework_items.clone(),
        accepted_by: accepted,
    }
}

impl Bridle {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            rotation_days: self.settings.rotation_limit_days,
            ..Limits::default()
        }
    }

    /// Every finding of the current inventory at `at`, in check order.
    pub(crate) async fn findings(&self, at: Timestamp) -> Result<Vec<Finding>, ApiError> {
        let estate = self.current_estate().await?;
        let graph = self.current_graph(at).await?;
        let mut findings = compliance::evaluate(&estate, &graph, at, &self.limits());
        findings.extend(self.flow_findings(&estate, &graph, at).await?);
        Ok(findings)
    }

    /// Every finding of the inventory and flows as they stood at `at` (the newest snapshot
    /// taken by then, none before the first import), as an evidence pack for `at` assesses them.
    pub(crate) async fn findings_as_of(&self, at: Timestamp) -> Result<Vec<Finding>, ApiError> {
        Ok(self.checked_as_of(at, Passes::List).await?.listed.clone())
    }

    /// The inventory as it stood at `at` (the newest snapshot taken by then; empty before the
    /// first) and its graph at `at`. When that snapshot is the newest, both come from the
    /// evaluation cache (loaded and built once per snapshot), so repeated checks of the current
    /// inventory, such as the console's findings pages, do not reload it.
    async fn inventory_as_of(
        &self,
        at: Timestamp,
    ) -> Result<(Arc<Estate>, Arc<PrivilegeGraph>), ApiError> {
        let then = self.store.snapshot_at(at).await.map_err(store_error)?;
        let newest = self.store.latest_snapshot().await.map_err(store_error)?;
        let estate = match (&then, &newest) {
            (Some(then), Some(newest)) if then.id == newest.id => {
                return Ok((self.current_estate().await?, self.current_graph(at).await?));
            }
            (Some(then), _) => self.estate(Some(then.id)).await?,
            (None, _) => Estate::default(),
        };
        let graph = PrivilegeGraph::build(&estate, at);
        Ok((Arc::new(estate), Arc::new(graph)))
    }

    /// [`Bridle::findings_as_of`] with the passes listed or only counted, as `passes` says (the
    /// flow checks' passes are counted under the subject kind `flow`).
    ///
    /// Kept for one (database version, `at`, `passes`): the newest audit entry versions every
    /// input (inventory, flows, broker facts), so paging through the findings of one evaluation
    /// evaluates once.
    async fn checked_as_of(&self, at: Timestamp, passes: Passes) -> Result<Arc<Checked>, ApiError> {
        let key = (
            self.store.audit_head().await.map_err(store_error)?,
            at,
            passes,
        );
        let mut cached = self.cache.checked.lock().await;
        if let Some((of, checked)) = cached.as_ref()
            && *of == key
        {
            return Ok(Arc::clone(checked));
        }
        let checked = Arc::new(self.evaluate_as_of(at, passes).await?);
        *cached = Some((key, Arc::clone(&checked)));
        Ok(checked)
    }

    async fn evaluate_as_of(&self, at: Timestamp, passes: Passes) -> Result<Checked, ApiError> {
        let (estate, graph) = self.inventory_as_of(at).await?;
        let (estate, graph) = (&*estate, &*graph);
        let found = compliance::evaluate_with(estate, graph, at, &self.limits(), passes);
        let mut checked = Checked {
            listed: found.listed,
            unlisted_passes: found
                .unlisted_passes
                .iter()
                .map(|p| protocol::PassCount {
                    check: p.check.to_owned(),
                    subject_kind: p.subject_kind.as_str().to_owned(),
                    count: p.count,
                })
                .collect(),
        };
        let inventory_counts = checked.unlisted_passes.len();
        for finding in self
            .evaluated_flows_at(estate, graph, at)
            .await?
            .iter()
            .flat_map(|(_, _, flow_findings)| flow_findings.iter().map(compliance_finding))
        {
            if passes == Passes::List || finding.status != Status::Pass {
                checked.listed.push(finding);
                continue;
            }
            let flow_counts = &mut checked.unlisted_passes[inventory_counts..];
            match flow_counts.iter_mut().find(|p| p.check == finding.check) {
                Some(count) => count.count += 1,
                None => checked.unlisted_passes.push(protocol::PassCount {
                    check: finding.check.to_owned(),
                    subject_kind: "flow".to_owned(),
                    count: 1,
                }),
            }
        }
        // Flow findings come flow by flow; their counts go in check order.
        let order = |check: &str| {
            FLOW_CHECKS
                .iter()
                .chain(DRIFT_CHECKS)
                .position(|c| c.id == check)
        };
        checked.unlisted_passes[inventory_counts..].sort_by_key(|p| order(&p.check));
        Ok(checked)
    }

    /// Runs every check on the inventory and flows as they stood at `at`, marks failures
    /// covered by the risks accepted then, narrows to `framework`, and counts the failures at or
    /// above `fail_on` (the CI gate). A future `at` evaluates today's records then. The passes
    /// are listed with [`Passes::List`], else only counted (`unlisted_passes`); the totals and
    /// the gate are the same either way.
    pub async fn check(
        &self,
        at: Timestamp,
        framework: Option<Framework>,
        fail_on: Option<Severity>,
        passes: Passes,
    ) -> Result<protocol::CheckReport, ApiError> {
        let checked = self.checked_as_of(at, passes).await?;
        let risks = self.store.risks_at(at).await.map_err(store_error)?;
        let snapshot = self.store.snapshot_at(at).await.map_err(store_error)?;
        let mut facts: HashMap<&str, CheckFacts> = HashMap::new();
        let mut tally = Tally::default();
        let mut gate_failures = 0;
        let mut out = Vec::new();
        for f in &checked.listed {
            let facts = facts
                .entry(f.check)
                .or_insert_with(|| CheckFacts::of(f.check, framework));
            if !facts.in_report {
                continue;
            }
            let accepted = accepted_by(&risks, f, at);
            tally.add(f.status, f.severity, accepted.is_some());
            if f.status == Status::Fail
                && accepted.is_none()
                && fail_on.is_some_and(|level| f.severity >= level)
            {
                gate_failures += 1;
            }
            out.push(finding(f, accepted, facts));
        }
        // A pass is never accepted (a risk covers failures only) and never fails the gate.
        let unlisted_passes: Vec<protocol::PassCount> = checked
            .unlisted_passes
            .iter()
            .filter(|p| framework.is_none_or(|fw| compliance::check_bears_on(&p.check, fw)))
            .cloned()
            .collect();
        let unlisted: u64 = unlisted_passes.iter().map(|p| p.count).sum();
        let limits = self.limits();
        Ok(protocol::CheckReport {
            at,
            framework: framework.map(|f| f.as_str().to_owned()),
            snapshot: snapshot.as_ref().map(|s| s.id),
            estate_sha256: snapshot.map(|s| s.estate_sha256),
            limits: protocol::CheckLimits {
                rotation_days: limits.rotation_days,
                unused_days: limits.unused_days,
                max_ttl_days: limits.max_ttl_days,
            },
            totals: protocol::FindingTotals {
                pass: u64::from(tally.pass) + unlisted,
                fail: u64::from(tally.fail),
                unknown: u64::from(tally.unknown),
                accepted: u64::from(tally.accepted),
            },
            fail_on: fail_on.map(|s| s.as_str().to_owned()),
            gate_failures,
            unlisted_passes,
            findings: out,
        })
    }

    /// Per item of `framework`: the controls mapped to it, its findings' tally and its status at
    /// `at` by the one rulebook (the PDF and OSCAL show the same).
    pub async fn coverage(
        &self,
        framework: Framework,
        at: Timestamp,
    ) -> Result<protocol::Coverage, ApiError> {
        let risks = self.store.risks_at(at).await.map_err(store_error)?;
        let attestations = self.store.attestations().await.map_err(store_error)?;
        let evaluated: Vec<Evaluated> = self
            .findings_as_of(at)
            .await?
            .into_iter()
            .map(|finding| Evaluated {
                accepted: accepted_by(&risks, &finding, at),
                finding,
            })
            .collect();
        let library = ControlLibrary::get();
        let catalog = Catalog::get(framework);
        let items = catalog
            .coverage_items(framework)
            .map(|item| {
                let controls = library.controls_covering(framework, &item.id);
                let mut checks: Vec<&str> = controls
                    .iter()
                    .flat_map(|c| c.checks.iter().map(String::as_str))
                    .collect();
                checks.sort_unstable();
                checks.dedup();
                let mut tally = Tally::default();
                for e in evaluated
                    .iter()
                    .filter(|e| checks.contains(&e.finding.check))
                {
                    tally.add(e.finding.status, e.finding.severity, e.accepted.is_some());
                }
                let (_, status, reason) =
                    assess_item(framework, &item.id, &evaluated, &attestations, at);
                let (pass, fail, unknown, accepted) = (
                    u64::from(tally.pass),
                    u64::from(tally.fail),
                    u64::from(tally.unknown),
                    u64::from(tally.accepted),
                );
                let status = status.as_str();
                protocol::CoverageItem {
                    id: item.id.clone(),
                    kind: item.kind.clone(),
                    parent: item.parent.clone(),
                    title: item.title.clone(),
                    text: item.text.clone(),
                    summary: item.summary.clone(),
                    local_id: item.local_id,
                    controls: controls.iter().map(|c| c.id.clone()).collect(),
                    pass,
                    fail,
                    unknown,
                    accepted,
                    status: status.to_owned(),
                    reason,
                }
            })
            .collect();
        Ok(protocol::Coverage {
            framework: framework_info(framework),
            at,
            items,
        })
    }
}

/// What an evaluation found, as [`Bridle::check`] reports it: the findings it lists and the
/// passes it only counted.
pub(crate) struct Checked {
    listed: Vec<Finding>,
    unlisted_passes: Vec<protocol::PassCount>,
}

/// Every check id, for validating risk links.
pub(crate) fn known_check(id: &str) -> bool {
    compliance::check_info(id).is_some()
}
