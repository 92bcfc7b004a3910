//! The risk register's domain: 5×5 scoring, treatments, acceptance with an expiry, and risks
//! suggested from failing findings.
//!
//! Whether a risk is accepted is always evaluated at an explicit time: an acceptance whose
//! expiry is at or before that time no longer holds, and the risk counts as open again
//! (`reopened`), without any write and without reading a clock.

use std::fmt;

use crate::compliance::{Finding, Severity, Status, check_info, framework_items};
use crate::model::vocabulary;
use crate::time::Timestamp;

vocabulary!(
    /// What is done about a risk.
    Treatment {
        Mitigate => "mitigate",
        Accept => "accept",
        Transfer => "transfer",
        Avoid => "avoid",
    }
);

vocabulary!(
    /// The stored state of a risk. [`Risk::status_at`] gives the effective one.
    RiskStatus {
        Open => "open",
        Accepted => "accepted",
        Closed => "closed",
    }
);

vocabulary!(
    /// A band of the 5×5 matrix: 1–4 low, 5–9 medium, 10–16 high, 20–25 critical.
    Level {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

/// A likelihood or impact rating, 1 (rare, negligible) to 5 (almost certain, severe).
pub fn valid_rating(value: u8) -> bool {
    (1..=5).contains(&value)
}

/// Likelihood × impact, 1 to 25.
pub fn score(likelihood: u8, impact: u8) -> u8 {
    likelihood * impact
}

pub fn level(score: u8) -> Level {
    match score {
        0..=4 => Level::Low,
        5..=9 => Level::Medium,
        10..=16 => Level::High,
        _ => Level::Critical,
    }
}

/// Who accepted a risk, why, when, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub by: String,
    pub reason: String,
    pub at: Timestamp,
    /// Every acceptance expires; at this time the risk is open again.
    pub expires: Timestamp,
}

/// A register entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    pub id: i64,
    pub title: String,
    pub description: String,
    /// Framework items as `framework:item` (e.g. `owasp-nhi:NHI7`).
    pub categories: Vec<String>,
    pub likelihood: u8,
    pub impact: u8,
    /// The rating after treatment; `None`: not assessed (the inherent rating stands).
    pub residual_likelihood: Option<u8>,
    pub residual_impact: Option<u8>,
    pub owner: Option<String>,
    pub treatment: Treatment,
    pub status: RiskStatus,
    pub due: Option<Timestamp>,
    pub acceptance: Option<Acceptance>,
    /// Linked finding ids (`check@subject`) or whole checks (`check`).
    pub findings: Vec<String>,
    pub controls: Vec<String>,
    pub agents: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Risk {
    pub fn inherent_score(&self) -> u8 {
        score(self.likelihood, self.impact)
    }

    pub fn residual_score(&self) -> u8 {
        score(
            self.residual_likelihood.unwrap_or(self.likelihood),
            self.residual_impact.unwrap_or(self.impact),
        )
    }

    /// The status at `at`: an accepted risk whose acceptance has expired is open again.
    /// The flag says whether that happened.
    pub fn status_at(&self, at: Timestamp) -> (RiskStatus, bool) {
        match (&self.status, &self.acceptance) {
            (RiskStatus::Accepted, Some(acceptance)) if acceptance.expires <= at => {
                (RiskStatus::Open, true)
            }
            (RiskStatus::Accepted, None) => (RiskStatus::Open, true),
            (status, _) => (*status, false),
        }
    }

    /// Whether this risk, accepted and unexpired at `at`, covers the finding.
    pub fn covers(&self, finding: &Finding, at: Timestamp) -> bool {
        self.status_at(at).0 == RiskStatus::Accepted
            && self
                .findings
                .iter()
                .any(|link| *link == finding.id || link == finding.check)
    }
}

/// A risk proposed from failing findings, with the reasoning behind its ratings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub title: String,
    pub description: String,
    pub categories: Vec<String>,
    pub likelihood: u8,
    pub impact: u8,
    pub reasoning: Vec<String>,
    pub findings: Vec<String>,
    pub controls: Vec<String>,
    pub agents: Vec<String>,
}

/// One suggestion per check with failing findings (in check order): likelihood from the graph
/// (the shortest privilege path behind the findings, and how many there are) or from the spread
/// of the failures, impact from the worst severity.
pub fn suggest(findings: &[Finding]) -> Vec<Suggestion> {
    let mut suggestions: Vec<Suggestion> = Vec::new();
    let mut checks: Vec<&str> = Vec::new();
    for f in findings.iter().filter(|f| f.status == Status::Fail) {
        if !checks.contains(&f.check) {
            checks.push(f.check);
        }
    }
    for check in checks {
        let failing: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.check == check && f.status == Status::Fail)
            .collect();
        let info = check_info(check).expect("findings come from known checks");
        let mut reasoning = Vec::new();
        let paths: Vec<&Vec<String>> = failing.iter().flat_map(|f| f.paths.iter()).collect();
        let likelihood = if let Some(shortest) = paths.iter().map(|p| p.len() - 1).min() {
            let base: u8 = match shortest {
                0..=2 => 5,
                3 => 4,
                4..=5 => 3,
                _ => 2,
            };
            reasoning.push(format!(
                "{} privilege path(s); the shortest takes {shortest} hop(s): likelihood {base}",
                paths.len()
            ));
            if paths.len() > 3 && base < 5 {
                reasoning.push(format!(
                    "more than 3 paths: likelihood raised to {}",
                    base + 1
                ));
                base + 1
            } else {
                base
            }
        } else {
            let base = match failing.len() {
                1 => 2,
                2..=4 => 3,
                _ => 4,
            };
            reasoning.push(format!(
                "{} failing subject(s), no privilege path involved: likelihood {base}",
                failing.len()
            ));
            base
        };
        let worst = failing
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(info.severity);
        let impact = match worst {
            Severity::Critical => 5,
            Severity::High => 4,
            Severity::Medium => 3,
            Severity::Low => 2,
        };
        reasoning.push(format!("worst severity {worst}: impact {impact}"));
        let mut agents: Vec<String> = failing
            .iter()
            .flat_map(|f| f.entities.iter())
            .filter(|e| e.starts_with("agent:"))
            .cloned()
            .collect();
        agents.sort();
        agents.dedup();
        let controls = crate::compliance::ControlLibrary::get()
            .controls_of_check(check)
            .iter()
            .map(|c| c.id.clone())
            .collect();
        suggestions.push(Suggestion {
            title: format!("{}: fails for {} subject(s)", info.title, failing.len()),
            description: failing
                .iter()
                .map(|f| format!("{}: {}", f.subject, f.summary))
                .collect::<Vec<_>>()
                .join("\n"),
            categories: framework_items(check)
                .into_iter()
                .map(|(framework, item)| format!("{framework}:{item}"))
                .collect(),
            likelihood,
            impact,
            reasoning,
            findings: failing.iter().map(|f| f.id.clone()).collect(),
            controls,
            agents,
        });
    }
    suggestions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_utc;

    fn risk(status: RiskStatus, expires: Option<&str>) -> Risk {
        let t = parse_utc("2026-11-01T00:00:00Z").unwrap();
        Risk {
            id: 1,
            title: "t".into(),
            description: String::new(),
            categories: vec![],
            likelihood: 4,
            impact: 5,
            residual_likelihood: Some(2),
            residual_impact: None,
            owner: None,
            treatment: Treatment::Accept,
            status,
            due: None,
            acceptance: expires.map(|e| Acceptance {
                by: "cro".into(),
                reason: "r".into(),
                at: t,
                expires: parse_utc(e).unwrap(),
            }),
            findings: vec!["crown-jewel-reach".into()],
            controls: vec![],
            agents: vec![],
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn scores_and_levels_follow_the_5x5_matrix() {
        let r = risk(RiskStatus::Open, None);
        assert_eq!((r.inherent_score(), r.residual_score()), (20, 10));
        let bands: Vec<Level> = [1, 4, 5, 9, 10, 16, 20, 25].map(level).to_vec();
        use Level::*;
        assert_eq!(
            bands,
            [Low, Low, Medium, Medium, High, High, Critical, Critical]
        );
        assert!(!valid_rating(0) && valid_rating(5) && !valid_rating(6));
    }

    #[test]
    fn an_expired_acceptance_reopens_the_risk_at_the_evaluation_time() {
        let r = risk(RiskStatus::Accepted, Some("2026-12-01T00:00:00Z"));
        let before = parse_utc("2026-11-30T23:59:59Z").unwrap();
        let at_expiry = parse_utc("2026-12-01T00:00:00Z").unwrap();
        assert_eq!(r.status_at(before), (RiskStatus::Accepted, false));
        assert_eq!(r.status_at(at_expiry), (RiskStatus::Open, true));
        assert_eq!(
            risk(RiskStatus::Closed, None).status_at(at_expiry),
            (RiskStatus::Closed, false)
        );
    }
}
