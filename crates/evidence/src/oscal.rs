//! The evidence as an OSCAL assessment-results document (JSON): one result for the evaluation,
//! one observation per finding of the automated checks, one risk per register entry, and one
//! OSCAL finding per NIST AI RMF subcategory targeting it.
//!
//! OSCAL ids are tokens, so `GOVERN 1.1` becomes `govern-1.1`; the NIST label stays in the
//! title and in a `label` prop. UUIDs are version 5, derived from the content they name (the
//! estate hash, the evaluation time and the item), never random: the same evidence gives the
//! same document.

use std::io::Write;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::report::{EvidenceReport, ItemStatus};

/// The OSCAL version the document declares.
pub const OSCAL_VERSION: &str = "1.1.2";
/// The namespace of Bridle's own props.
const NS: &str = "https://bridle.dev/ns/oscal";

/// `GOVERN 1.1` → `govern-1.1`.
pub fn control_token(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

struct Ids {
    namespace: Uuid,
    scope: String,
}

impl Ids {
    fn new(report: &EvidenceReport) -> Ids {
        Ids {
            namespace: Uuid::new_v5(&Uuid::NAMESPACE_URL, NS.as_bytes()),
            scope: format!(
                "{}|{}|{}|{}",
                report.snapshot.estate_sha256,
                report.at,
                report.framework.id,
                report.audit.head_hash
            ),
        }
    }

    fn uuid(&self, what: &str, id: &str) -> String {
        Uuid::new_v5(
            &self.namespace,
            format!("{}|{what}|{id}", self.scope).as_bytes(),
        )
        .to_string()
    }
}

/// A prop in Bridle's namespace (OSCAL prop values must not be empty or padded).
fn prop(name: &str, value: &str) -> Option<Value> {
    let value = value.trim();
    (!value.is_empty()).then(|| json!({"name": name, "ns": NS, "value": value}))
}

fn props(list: &[(&str, &str)]) -> Vec<Value> {
    list.iter().filter_map(|(n, v)| prop(n, v)).collect()
}

fn non_empty(text: &str, fallback: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        fallback.to_owned()
    } else {
        text.to_owned()
    }
}

/// Builds the document.
pub fn document(report: &EvidenceReport) -> Value {
    let ids = Ids::new(report);
    let observations: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut observation = json!({
                "uuid": ids.uuid("observation", &f.id),
                "title": format!("{}: {}", f.title, f.subject),
                "description": non_empty(&f.summary, &f.title),
                "props": props(&[
                    ("finding-id", &f.id),
                    ("check", &f.check),
                    ("result", &f.status),
                    ("severity", &f.severity),
                    ("controls", &f.controls.join(" ")),
                ]),
                "methods": ["TEST"],
                "types": ["finding"],
                "collected": report.at,
            });
            let evidence: Vec<Value> = f
                .evidence
                .iter()
                .filter(|line| !line.trim().is_empty())
                .map(|line| json!({"description": line}))
                .collect();
            if !evidence.is_empty() {
                observation["relevant-evidence"] = Value::Array(evidence);
            }
            observation
        })
        .collect();
    let risks: Vec<Value> = report
        .risks
        .iter()
        .map(|r| {
            let mut risk = json!({
                "uuid": ids.uuid("risk", &r.id.to_string()),
                "title": format!("R{}: {}", r.id, r.title),
                "description": non_empty(&r.description, &r.title),
                "statement": format!(
                    "Likelihood {} × impact {} = {} (residual {}, {}); treatment {}{}.",
                    r.likelihood, r.impact, r.inherent_score, r.residual_score, r.level, r.treatment,
                    r.owner.as_ref().map(|o| format!(", owner {o}")).unwrap_or_default()
                ),
                "status": match r.status.as_str() {
                    "accepted" => "deviation-approved",
                    "closed" => "closed",
                    _ => "open",
                },
                "props": props(&[
                    ("risk-id", &format!("R{}", r.id)),
                    ("categories", &r.categories.join(" ")),
                    ("findings", &r.findings.join(" ")),
                    ("controls", &r.controls.join(" ")),
                ]),
            });
            // The observations of the findings the risk names (by id or by check).
            let related: Vec<Value> = report
                .findings
                .iter()
                .filter(|f| r.findings.iter().any(|link| *link == f.id || *link == f.check))
                .map(|f| json!({"observation-uuid": ids.uuid("observation", &f.id)}))
                .collect();
            if !related.is_empty() {
                risk["related-observations"] = Value::Array(related);
            }
            if let Some(a) = &r.acceptance {
                // An accepted risk's deadline is its acceptance's expiry; the log records who
                // accepted it, when and why, and what it covers in this assessment.
                if !a.expired {
                    risk["deadline"] = json!(a.expires);
                }
                let remarks = json!(format!(
                    "Accepted by {} at {} until {}{}: {}",
                    a.by,
                    a.at,
                    a.expires,
                    if a.expired { " (expired: the risk counts as open)" } else { "" },
                    a.reason
                ));
                let covers = if a.covers.is_empty() {
                    "It covers no failing finding of this assessment.".to_owned()
                } else {
                    format!("It covers the failing findings {}.", a.covers.join(", "))
                };
                let mut entry = json!({
                    "uuid": ids.uuid("risk-acceptance", &r.id.to_string()),
                    "title": format!("Accepted by {}", a.by),
                    "description": format!("{} {covers}", non_empty(&a.reason, "No reason given.")),
                    "start": a.at,
                    "status-change": "deviation-approved",
                    "remarks": remarks,
                });
                if let Some(list) = risk["props"].as_array_mut() {
                    list.extend(props(&[
                        ("accepted-by", &a.by),
                        ("accepted-at", &a.at),
                        ("acceptance-expires", &a.expires),
                    ]));
                }
                if a.expired {
                    entry["end"] = json!(a.expires);
                }
                risk["risk-log"] = json!({"entries": [entry]});
            } else if let Some(due) = &r.due {
                risk["deadline"] = json!(due);
            }
            risk
        })
        .collect();
    let findings: Vec<Value> = report
        .subcategories()
        .map(|s| {
            let token = control_token(&s.id);
            let controls: Vec<String> = s
                .controls
                .iter()
                .map(|c| format!("{} {} ({})", c.id, c.title, c.status.label()))
                .collect();
            let mut finding = json!({
                "uuid": ids.uuid("finding", &token),
                "title": format!("{}: {}", s.id, s.status.label()),
                "description": format!("{} Status: {} — {}", s.text, s.status.label(), s.reason),
                "props": props(&[
                    ("label", &s.id),
                    ("status", s.status.as_str()),
                    ("mapped-controls", &controls.join("; ")),
                ]),
                "target": {
                    "type": "objective-id",
                    "target-id": token,
                    "title": s.id,
                    "status": {
                        "state": if s.status == ItemStatus::Met { "satisfied" } else { "not-satisfied" },
                        "reason": match s.status {
                            ItemStatus::Met => "pass",
                            ItemStatus::NotMet
                            | ItemStatus::PartlyMet
                            | ItemStatus::ExceptionAccepted => "fail",
                            ItemStatus::NotAssessed | ItemStatus::OutOfScope => "other",
                        },
                        "remarks": format!("Bridle status: {}.", s.status.label()),
                    },
                },
            });
            let related: Vec<Value> = s
                .findings
                .iter()
                .map(|id| json!({"observation-uuid": ids.uuid("observation", id)}))
                .collect();
            if !related.is_empty() {
                finding["related-observations"] = Value::Array(related);
            }
            // The risks linked to the item, and those whose acceptance covers one of its findings.
            let mut risk_ids: Vec<i64> = s.risks.clone();
            for r in &report.risks {
                let covers = r
                    .acceptance
                    .as_ref()
                    .is_some_and(|a| a.covers.iter().any(|f| s.findings.contains(f)));
                if covers && !risk_ids.contains(&r.id) {
                    risk_ids.push(r.id);
                }
            }
            let related: Vec<Value> = risk_ids
                .iter()
                .map(|id| json!({"risk-uuid": ids.uuid("risk", &id.to_string())}))
                .collect();
            if !related.is_empty() {
                finding["related-risks"] = Value::Array(related);
            }
            finding
        })
        .collect();
    let include: Vec<Value> = report
        .subcategories()
        .map(|s| json!({"control-id": control_token(&s.id)}))
        .collect();
    let mut result = json!({
        "uuid": ids.uuid("result", "evaluation"),
        "title": format!("{} assessment of snapshot {}", report.framework.name, report.snapshot.id),
        "description": report.scope,
        "start": report.at,
        "end": report.at,
        "props": props(&[
            ("snapshot", &report.snapshot.id.to_string()),
            ("estate-sha256", &report.snapshot.estate_sha256),
            ("audit-head", &report.audit.head_hash),
        ]),
        "reviewed-controls": {
            "control-selections": [{"include-controls": include}],
        },
    });
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
    }
    if !risks.is_empty() {
        result["risks"] = Value::Array(risks);
    }
    if !findings.is_empty() {
        result["findings"] = Value::Array(findings);
    }
    json!({
        "assessment-results": {
            "uuid": ids.uuid("document", "assessment-results"),
            "metadata": {
                "title": format!("{} evidence — {}", report.framework.name, report.organisation),
                "last-modified": report.at,
                "version": format!("snapshot-{}", report.snapshot.id),
                "oscal-version": OSCAL_VERSION,
                "props": props(&[
                    ("framework", &report.framework.id),
                    ("framework-version", &report.framework.version),
                    ("organisation", &report.organisation),
                ]),
            },
            "import-ap": {"href": "#bridle-automated-assessment"},
            "results": [result],
        }
    })
}

/// Writes the document as pretty JSON.
pub fn write<W: Write>(report: &EvidenceReport, mut out: W) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, &document(report)).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_tokens() {
        assert_eq!(control_token("GOVERN 1.1"), "govern-1.1");
        assert_eq!(control_token("MEASURE  2.10"), "measure-2.10");
    }
}
