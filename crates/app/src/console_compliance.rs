//! What the console's Findings and Risk register pages need beyond the CLI's use cases: findings
//! filtered and paged by the backend with facet counts, reopening a risk, and who the console
//! acts as.

use bridle_core::compliance::Passes;
use bridle_core::risk::RiskStatus;
use bridle_core::time::Timestamp;
use bridle_protocol::compliance::{Finding, Risk};
use bridle_protocol::console_compliance::{ConsoleActor, FindingsPage, FindingsQuery};
use bridle_store::Actor;

use crate::Bridle;
use crate::compliance::parse_framework;
use crate::error::{ApiError, ErrorCode, api_error, store_error};
use crate::risk::risk_at;

const STATUSES: [&str; 4] = ["fail", "unknown", "accepted", "pass"];
const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

fn one_of(what: &str, word: &Option<String>, words: &[&str]) -> Result<(), ApiError> {
    match word {
        Some(word) if !words.contains(&word.as_str()) => Err(api_error(
            ErrorCode::InvalidInput,
            format!("unknown {what} `{word}`; expected {}", words.join(", ")),
        )),
        _ => Ok(()),
    }
}

fn rank(list: &[&str], word: &str) -> usize {
    list.iter().position(|w| *w == word).unwrap_or(list.len())
}

fn mentions(finding: &Finding, needle: &str) -> bool {
    needle.is_empty()
        || [
            &finding.id,
            &finding.title,
            &finding.subject,
            &finding.summary,
        ]
        .into_iter()
        .chain(&finding.entities)
        .any(|text| text.to_lowercase().contains(needle))
}

/// The user and host every change from this process is recorded under.
pub fn console_actor() -> ConsoleActor {
    let Actor { user, host } = crate::current_actor();
    ConsoleActor { user, host }
}

impl Bridle {
    /// The findings at `query.at` (default `now`) narrowed to a framework, filtered by severity,
    /// status and text, worst first, one page of them.
    pub async fn findings_page(
        &self,
        query: &FindingsQuery,
        now: Timestamp,
    ) -> Result<FindingsPage, ApiError> {
        let framework = query
            .framework
            .as_deref()
            .filter(|f| !f.is_empty())
            .map(parse_framework)
            .transpose()?;
        let status = query.status.clone().filter(|s| !s.is_empty());
        let severity = query.severity.clone().filter(|s| !s.is_empty());
        one_of("status", &status, &STATUSES)?;
        one_of("severity", &severity, &SEVERITIES)?;
        let needle = query.search.trim().to_lowercase();

        // The page lists, counts and searches the passes too.
        let report = self
            .check(query.at.unwrap_or(now), framework, None, Passes::List)
            .await?;
        let texts: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| mentions(f, &needle))
            .collect();
        let mut page = FindingsPage {
            at: report.at,
            snapshot: report.snapshot,
            limits: report.limits,
            totals: report.totals,
            by_status: STATUSES.iter().map(|s| ((*s).to_owned(), 0)).collect(),
            by_severity: SEVERITIES.iter().map(|s| ((*s).to_owned(), 0)).collect(),
            matched: 0,
            offset: query.offset,
            findings: Vec::new(),
        };
        let mut matching: Vec<&Finding> = Vec::new();
        for finding in texts {
            let status_ok = status.as_ref().is_none_or(|s| *s == finding.status);
            let severity_ok = severity.as_ref().is_none_or(|s| *s == finding.severity);
            if severity_ok && let Some(n) = page.by_status.get_mut(&finding.status) {
                *n += 1;
            }
            if status_ok && let Some(n) = page.by_severity.get_mut(&finding.severity) {
                *n += 1;
            }
            if status_ok && severity_ok {
                matching.push(finding);
            }
        }
        matching.sort_by(|a, b| {
            (
                rank(&STATUSES, &a.status),
                rank(&SEVERITIES, &a.severity),
                &a.id,
            )
                .cmp(&(
                    rank(&STATUSES, &b.status),
                    rank(&SEVERITIES, &b.severity),
                    &b.id,
                ))
        });
        page.matched = matching.len() as u64;
        page.findings = matching
            .into_iter()
            .skip(query.offset as usize)
            .take(query.limit.clamp(1, 500) as usize)
            .cloned()
            .collect();
        Ok(page)
    }

    /// Opens a closed or accepted risk again. A risk that is open at `at` (including one whose
    /// acceptance has expired) is refused: there is nothing to reopen.
    pub async fn reopen_risk(
        &self,
        id: i64,
        reason: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Risk, ApiError> {
        if reason.trim().is_empty() {
            return Err(api_error(
                ErrorCode::InvalidInput,
                "the reason for reopening must not be empty",
            ));
        }
        let (current, _) = self
            .store
            .risk(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| api_error(ErrorCode::NotFound, format!("no risk R-{id}")))?;
        if current.status_at(at).0 == RiskStatus::Open {
            return Err(api_error(
                ErrorCode::InvalidInput,
                format!("R-{id} is already open: only a closed or accepted risk can be reopened"),
            ));
        }
        let risk = self
            .store
            .reopen_risk(id, reason, at, actor)
            .await
            .map_err(store_error)?
            .ok_or_else(|| api_error(ErrorCode::NotFound, format!("no risk R-{id}")))?;
        Ok(risk_at(&risk, at))
    }
}

#[cfg(test)]
mod tests {
    use bridle_protocol::compliance::NewRisk;

    use super::*;

    fn t(text: &str) -> Timestamp {
        bridle_core::time::parse_utc(text).unwrap()
    }

    async fn demo() -> (tempfile::TempDir, Bridle) {
        let dir = tempfile::tempdir().unwrap();
        let bridle = Bridle::open(&dir.path().join("t.db"), &dir.path().join("audit.key"))
            .await
            .unwrap();
        let prepared = crate::PreparedImport::from_bytes(
            "demo".into(),
            crate::DEMO_ESTATE,
            bridle_core::estate::Syntax::Json,
        );
        let actor = Actor {
            user: "test".into(),
            host: "test".into(),
        };
        bridle
            .import(
                prepared,
                crate::DEMO_SOURCE,
                t("2026-11-01T00:00:00Z"),
                &actor,
            )
            .await
            .unwrap();
        (dir, bridle)
    }

    #[tokio::test]
    async fn findings_are_filtered_counted_and_worst_first() {
        let (_dir, bridle) = demo().await;
        let at = t("2026-11-15T00:00:00Z");
        let all = bridle
            .findings_page(
                &FindingsQuery {
                    limit: 500,
                    ..FindingsQuery::default()
                },
                at,
            )
            .await
            .unwrap();
        assert!(all.totals.fail > 0 && all.totals.pass > 0);
        assert_eq!(all.matched as usize, all.findings.len());
        let statuses: Vec<&str> = all.findings.iter().map(|f| f.status.as_str()).collect();
        assert_eq!(statuses.first(), Some(&"fail"));
        assert_eq!(statuses.last(), Some(&"pass"));

        let failing_high = bridle
            .findings_page(
                &FindingsQuery {
                    status: Some("fail".into()),
                    severity: Some("high".into()),
                    framework: Some("owasp-nhi".into()),
                    limit: 500,
                    ..FindingsQuery::default()
                },
                at,
            )
            .await
            .unwrap();
        assert!(failing_high.matched > 0);
        assert!(failing_high.findings.iter().all(|f| f.status == "fail"
            && f.severity == "high"
            && f.framework_items.iter().any(|i| i.framework == "owasp-nhi")));
        assert_eq!(failing_high.by_status["fail"], failing_high.matched);
        assert_eq!(failing_high.by_severity["high"], failing_high.matched);

        let error = bridle
            .findings_page(
                &FindingsQuery {
                    status: Some("broken".into()),
                    limit: 10,
                    ..FindingsQuery::default()
                },
                at,
            )
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidInput);
        assert!(error.message.contains("`broken`"), "{}", error.message);
    }

    #[tokio::test]
    async fn only_a_closed_or_accepted_risk_can_be_reopened() {
        let (_dir, bridle) = demo().await;
        let actor = Actor {
            user: "cro".into(),
            host: "h".into(),
        };
        let at = t("2026-11-15T00:00:00Z");
        let new = NewRisk {
            title: "Standing access of autonomous agents".into(),
            likelihood: 4,
            impact: 4,
            ..NewRisk::default()
        };
        let risk = bridle.add_risk(&new, at, &actor).await.unwrap();
        let refused = bridle
            .reopen_risk(risk.id, "why not", at, &actor)
            .await
            .unwrap_err();
        assert!(
            refused.message.contains("already open"),
            "{}",
            refused.message
        );
        bridle
            .close_risk(risk.id, "agents retired", at, &actor)
            .await
            .unwrap();
        let reopened = bridle
            .reopen_risk(risk.id, "one agent came back", at, &actor)
            .await
            .unwrap();
        assert_eq!(reopened.status, "open");
        let history = bridle.risk(risk.id, at).await.unwrap().history;
        let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["add", "close", "reopen"]);
    }
}
