//! The risk register: risks, their history, and every change appended to the audit log in the
//! same `BEGIN IMMEDIATE` transaction.

use std::collections::BTreeMap;

use bridle_core::risk::{Acceptance, Risk, RiskStatus, Treatment};
use bridle_core::time::{Timestamp, format_utc, parse_utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::audit::{Actor, NewEntry};
use crate::transaction::WriteTransaction;
use crate::{Result, Store, StoreError};

/// What a new risk states; the store fills in id, status and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRisk {
    pub title: String,
    pub description: String,
    pub categories: Vec<String>,
    pub likelihood: u8,
    pub impact: u8,
    pub residual_likelihood: Option<u8>,
    pub residual_impact: Option<u8>,
    pub owner: Option<String>,
    pub treatment: Treatment,
    pub due: Option<Timestamp>,
    pub findings: Vec<String>,
    pub controls: Vec<String>,
    pub agents: Vec<String>,
}

/// A change to a risk: `None` leaves a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub categories: Option<Vec<String>>,
    pub likelihood: Option<u8>,
    pub impact: Option<u8>,
    pub residual_likelihood: Option<Option<u8>>,
    pub residual_impact: Option<Option<u8>>,
    pub owner: Option<Option<String>>,
    pub treatment: Option<Treatment>,
    pub due: Option<Option<Timestamp>>,
    pub findings: Option<Vec<String>>,
    pub controls: Option<Vec<String>>,
    pub agents: Option<Vec<String>>,
}

/// One entry of a risk's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskEvent {
    pub at: Timestamp,
    pub user: String,
    pub host: String,
    /// `add`, `update`, `accept`, `close`, `reopen` or `comment`.
    pub action: String,
    /// JSON with the particulars.
    pub detail: String,
    pub audit_seq: i64,
}

fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).expect("a list of strings serialises")
}

fn corrupt(id: i64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table: "risks",
        id: id.to_string(),
        reason: reason.into(),
    }
}

fn time(id: i64, text: Option<String>) -> Result<Option<Timestamp>> {
    text.map(|t| parse_utc(&t).map_err(|e| corrupt(id, e)))
        .transpose()
}

fn list(id: i64, text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| corrupt(id, e.to_string()))
}

fn rating(id: i64, value: Option<i64>) -> Result<Option<u8>> {
    value
        .map(|v| {
            u8::try_from(v)
                .ok()
                .filter(|v| bridle_core::risk::valid_rating(*v))
                .ok_or_else(|| corrupt(id, format!("rating {v} is not 1-5")))
        })
        .transpose()
}

fn risk_from_row(row: &SqliteRow) -> Result<Risk> {
    let id: i64 = row.try_get("id")?;
    let word = |column: &str| row.try_get::<String, _>(column);
    let treatment =
        Treatment::parse(&word("treatment")?).ok_or_else(|| corrupt(id, "unknown treatment"))?;
    let status =
        RiskStatus::parse(&word("status")?).ok_or_else(|| corrupt(id, "unknown status"))?;
    let acceptance = match (
        row.try_get::<Option<String>, _>("accepted_by")?,
        time(id, row.try_get("accepted_at")?)?,
        time(id, row.try_get("acceptance_expires")?)?,
    ) {
        (Some(by), Some(at), Some(expires)) => Some(Acceptance {
            by,
            reason: row
                .try_get::<Option<String>, _>("accepted_reason")?
                .unwrap_or_default(),
            at,
            expires,
        }),
        _ => None,
    };
    Ok(Risk {
        id,
        title: word("title")?,
        description: word("description")?,
        categories: list(id, &word("categories")?)?,
        likelihood: rating(id, Some(row.try_get("likelihood")?))?.unwrap_or(1),
        impact: rating(id, Some(row.try_get("impact")?))?.unwrap_or(1),
        residual_likelihood: rating(id, row.try_get("residual_likelihood")?)?,
        residual_impact: rating(id, row.try_get("residual_impact")?)?,
        owner: row.try_get("owner")?,
        treatment,
        status,
        due: time(id, row.try_get("due")?)?,
        acceptance,
        findings: list(id, &word("findings")?)?,
        controls: list(id, &word("controls")?)?,
        agents: list(id, &word("agents")?)?,
        created_at: time(id, Some(word("created_at")?))?.expect("present"),
        updated_at: time(id, Some(word("updated_at")?))?.expect("present"),
    })
}

async fn load(conn: &mut SqliteConnection, id: i64) -> Result<Option<Risk>> {
    let row = sqlx::query("SELECT * FROM risks WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(risk_from_row).transpose()
}

/// Writes every column of `risk` (it exists).
async fn save(conn: &mut SqliteConnection, risk: &Risk) -> Result<()> {
    let acceptance = risk.acceptance.as_ref();
    sqlx::query(
        "UPDATE risks SET title = ?, description = ?, categories = ?, likelihood = ?, impact = ?, \
         residual_likelihood = ?, residual_impact = ?, owner = ?, treatment = ?, status = ?, \
         due = ?, accepted_by = ?, accepted_reason = ?, accepted_at = ?, acceptance_expires = ?, \
         findings = ?, controls = ?, agents = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&risk.title)
    .bind(&risk.description)
    .bind(json_list(&risk.categories))
    .bind(i64::from(risk.likelihood))
    .bind(i64::from(risk.impact))
    .bind(risk.residual_likelihood.map(i64::from))
    .bind(risk.residual_impact.map(i64::from))
    .bind(&risk.owner)
    .bind(risk.treatment.as_str())
    .bind(risk.status.as_str())
    .bind(risk.due.as_ref().map(format_utc))
    .bind(acceptance.map(|a| a.by.clone()))
    .bind(acceptance.map(|a| a.reason.clone()))
    .bind(acceptance.map(|a| format_utc(&a.at)))
    .bind(acceptance.map(|a| format_utc(&a.expires)))
    .bind(json_list(&risk.findings))
    .bind(json_list(&risk.controls))
    .bind(json_list(&risk.agents))
    .bind(format_utc(&risk.updated_at))
    .bind(risk.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Every risk, by id.
    pub async fn risks(&self) -> Result<Vec<Risk>> {
        let rows = sqlx::query("SELECT * FROM risks ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(risk_from_row).collect()
    }

    /// One risk with its history (oldest first); `None` when there is no such risk.
    pub async fn risk(&self, id: i64) -> Result<Option<(Risk, Vec<RiskEvent>)>> {
        let mut conn = self.pool.acquire().await?;
        let Some(risk) = load(&mut conn, id).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT at, user, host, action, detail, audit_seq FROM risk_events \
             WHERE risk_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let events = rows
            .iter()
            .map(|row| {
                Ok(RiskEvent {
                    at: time(id, Some(row.try_get("at")?))?.expect("present"),
                    user: row.try_get("user")?,
                    host: row.try_get("host")?,
                    action: row.try_get("action")?,
                    detail: row.try_get("detail")?,
                    audit_seq: row.try_get("audit_seq")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some((risk, events)))
    }

    /// Records a new open risk (history and audit entry in the same transaction).
    pub async fn add_risk(&self, new: &NewRisk, at: Timestamp, actor: &Actor) -> Result<Risk> {
        let mut tx = WriteTransaction::begin(self).await?;
        let now = format_utc(&at);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO risks (title, description, categories, likelihood, impact, \
             residual_likelihood, residual_impact, owner, treatment, status, due, findings, \
             controls, agents, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&new.title)
        .bind(&new.description)
        .bind(json_list(&new.categories))
        .bind(i64::from(new.likelihood))
        .bind(i64::from(new.impact))
        .bind(new.residual_likelihood.map(i64::from))
        .bind(new.residual_impact.map(i64::from))
        .bind(&new.owner)
        .bind(new.treatment.as_str())
        .bind(new.due.as_ref().map(format_utc))
        .bind(json_list(&new.findings))
        .bind(json_list(&new.controls))
        .bind(json_list(&new.agents))
        .bind(&now)
        .bind(&now)
        .fetch_one(tx.conn())
        .await?;
        let risk = load(tx.conn(), id).await?.expect("just inserted");
        let detail = serde_json::json!({
            "title": risk.title,
            "likelihood": risk.likelihood,
            "impact": risk.impact,
            "treatment": risk.treatment.as_str(),
            "owner": risk.owner,
            "findings": risk.findings,
        });
        self.record(&mut tx, id, "add", detail, at, actor).await?;
        tx.commit().await?;
        Ok(risk)
    }

    /// Applies `change`; `None` when there is no such risk.
    pub async fn update_risk(
        &self,
        id: i64,
        change: &RiskChange,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Option<Risk>> {
        self.modify(id, at, actor, "update", |risk| {
            let mut detail = serde_json::Map::new();
            macro_rules! set {
                ($field:ident) => {
                    if let Some(value) = &change.$field {
                        risk.$field = value.clone();
                        detail.insert(stringify!($field).into(), serde_json::json!(value));
                    }
                };
            }
            set!(title);
            set!(description);
            set!(categories);
            set!(likelihood);
            set!(impact);
            set!(residual_likelihood);
            set!(residual_impact);
            set!(owner);
            set!(findings);
            set!(controls);
            set!(agents);
            if let Some(treatment) = change.treatment {
                risk.treatment = treatment;
                detail.insert("treatment".into(), treatment.as_str().into());
            }
            if let Some(due) = &change.due {
                risk.due = *due;
                detail.insert("due".into(), due.as_ref().map(format_utc).into());
            }
            serde_json::Value::Object(detail)
        })
        .await
    }

    /// Accepts a risk until `acceptance.expires` (treatment becomes `accept`).
    pub async fn accept_risk(
        &self,
        id: i64,
        acceptance: Acceptance,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Option<Risk>> {
        self.modify(id, at, actor, "accept", |risk| {
            let detail = serde_json::json!({
                "by": acceptance.by,
                "reason": acceptance.reason,
                "expires": format_utc(&acceptance.expires),
            });
            risk.status = RiskStatus::Accepted;
            risk.treatment = Treatment::Accept;
            risk.acceptance = Some(acceptance);
            detail
        })
        .await
    }

    /// Closes a risk, with the reason in its history.
    pub async fn close_risk(
        &self,
        id: i64,
        reason: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Option<Risk>> {
        self.modify(id, at, actor, "close", |risk| {
            risk.status = RiskStatus::Closed;
            serde_json::json!({ "reason": reason })
        })
        .await
    }

    /// Opens a closed or accepted risk again (any acceptance is withdrawn; its record stays in
    /// the history), with the reason in its history.
    pub async fn reopen_risk(
        &self,
        id: i64,
        reason: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Option<Risk>> {
        self.modify(id, at, actor, "reopen", |risk| {
            let detail = serde_json::json!({
                "reason": reason,
                "was": risk.status.as_str(),
            });
            risk.status = RiskStatus::Open;
            risk.acceptance = None;
            detail
        })
        .await
    }

    /// Adds a comment to a risk's history.
    pub async fn comment_risk(
        &self,
        id: i64,
        text: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<Option<Risk>> {
        self.modify(
            id,
            at,
            actor,
            "comment",
            |_| serde_json::json!({ "comment": text }),
        )
        .await
    }

    /// Loads, changes, saves and records one risk in one transaction.
    async fn modify(
        &self,
        id: i64,
        at: Timestamp,
        actor: &Actor,
        action: &'static str,
        change: impl FnOnce(&mut Risk) -> serde_json::Value,
    ) -> Result<Option<Risk>> {
        let mut tx = WriteTransaction::begin(self).await?;
        let Some(mut risk) = load(tx.conn(), id).await? else {
            return Ok(None);
        };
        let detail = change(&mut risk);
        risk.updated_at = at;
        save(tx.conn(), &risk).await?;
        self.record(&mut tx, id, action, detail, at, actor).await?;
        tx.commit().await?;
        Ok(Some(risk))
    }

    async fn record(
        &self,
        tx: &mut WriteTransaction,
        id: i64,
        action: &'static str,
        detail: serde_json::Value,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<()> {
        let audit_action = format!("risk.{action}");
        let audit_seq = self
            .append_audit(
                tx,
                NewEntry {
                    at,
                    actor,
                    action: &audit_action,
                    subject: format!("risk R-{id}"),
                    detail: detail.clone(),
                },
            )
            .await?;
        sqlx::query(
            "INSERT INTO risk_events (risk_id, at, user, host, action, detail, audit_seq) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(format_utc(&at))
        .bind(&actor.user)
        .bind(&actor.host)
        .bind(action)
        .bind(detail.to_string())
        .bind(audit_seq)
        .execute(tx.conn())
        .await?;
        // The whole row as it is after this change, for the register at an earlier time.
        sqlx::query(
            "INSERT INTO risk_versions SELECT id, ?, ?, title, description, categories, \
             likelihood, impact, residual_likelihood, residual_impact, owner, treatment, status, \
             due, accepted_by, accepted_reason, accepted_at, acceptance_expires, findings, \
             controls, agents, created_at, updated_at FROM risks WHERE id = ?",
        )
        .bind(format_utc(&at))
        .bind(audit_seq)
        .bind(id)
        .execute(tx.conn())
        .await?;
        Ok(())
    }

    /// Every risk as it stood at `at` (its newest version recorded at or before `at`); a risk
    /// added later is not in it. Times are compared as times, not as text.
    pub async fn risks_at(&self, at: Timestamp) -> Result<Vec<Risk>> {
        let rows = sqlx::query(
            "SELECT risk_id AS id, at AS version_at, title, description, categories, likelihood, \
             impact, residual_likelihood, residual_impact, owner, treatment, status, due, \
             accepted_by, accepted_reason, accepted_at, acceptance_expires, findings, controls, \
             agents, created_at, updated_at FROM risk_versions ORDER BY risk_id, audit_seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut newest: BTreeMap<i64, &SqliteRow> = BTreeMap::new();
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let version_at = time(id, row.try_get("version_at")?)?
                .ok_or_else(|| corrupt(id, "a version without a time"))?;
            if version_at <= at {
                newest.insert(id, row);
            }
        }
        newest.into_values().map(risk_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        parse_utc(text).unwrap()
    }

    /// A fresh register in `dir` and the risk officer who edits it.
    async fn open_store(dir: &tempfile::TempDir) -> (Store, Actor) {
        let store = Store::open(
            &dir.path().join("r.db"),
            crate::AuditKey::at(dir.path().join("k")),
        )
        .await
        .unwrap();
        let actor = Actor {
            user: "cro".into(),
            host: "h".into(),
        };
        (store, actor)
    }

    #[tokio::test]
    async fn every_change_lands_with_its_history_and_audit_entry() {
        let dir = tempfile::tempdir().unwrap();
        let (store, actor) = open_store(&dir).await;
        let new = NewRisk {
            title: "Autonomous agents reach crown jewels".into(),
            description: String::new(),
            categories: vec!["owasp-asi:ASI03".into()],
            likelihood: 4,
            impact: 5,
            residual_likelihood: None,
            residual_impact: None,
            owner: Some("cro@example.com".into()),
            treatment: Treatment::Mitigate,
            due: None,
            findings: vec!["crown-jewel-reach".into()],
            controls: vec!["C13".into()],
            agents: vec![],
        };
        let risk = store
            .add_risk(&new, t("2026-11-01T00:00:00Z"), &actor)
            .await
            .unwrap();
        assert_eq!((risk.id, risk.status), (1, RiskStatus::Open));
        let change = RiskChange {
            residual_likelihood: Some(Some(2)),
            ..RiskChange::default()
        };
        store
            .update_risk(1, &change, t("2026-11-02T00:00:00Z"), &actor)
            .await
            .unwrap()
            .unwrap();
        let acceptance = Acceptance {
            by: "cro".into(),
            reason: "compensating monitoring".into(),
            at: t("2026-11-03T00:00:00Z"),
            expires: t("2026-12-01T00:00:00Z"),
        };
        let accepted = store
            .accept_risk(1, acceptance, t("2026-11-03T00:00:00Z"), &actor)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(accepted.residual_score(), 10);
        assert_eq!(
            accepted.status_at(t("2026-12-02T00:00:00Z")),
            (RiskStatus::Open, true)
        );
        store
            .comment_risk(1, "reviewed", t("2026-11-04T00:00:00Z"), &actor)
            .await
            .unwrap();
        assert!(
            store
                .close_risk(9, "no such", t("2026-11-04T00:00:00Z"), &actor)
                .await
                .unwrap()
                .is_none()
        );
        let (stored, history) = store.risk(1).await.unwrap().unwrap();
        assert_eq!(stored, store.risks().await.unwrap()[0]);
        let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["add", "update", "accept", "comment"]);
        let audit: Vec<String> = store
            .audit_entries()
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            audit,
            ["risk.add", "risk.update", "risk.accept", "risk.comment"]
        );
        assert!(store.verify_audit().await.unwrap().intact());
        // The register as it stood: before the risk, after the update, after the acceptance.
        assert!(
            store
                .risks_at(t("2026-10-31T00:00:00Z"))
                .await
                .unwrap()
                .is_empty()
        );
        let then = store.risks_at(t("2026-11-02T12:00:00Z")).await.unwrap();
        assert_eq!(
            (
                then[0].status,
                then[0].residual_likelihood,
                then[0].acceptance.is_none()
            ),
            (RiskStatus::Open, Some(2), true)
        );
        let then = store.risks_at(t("2026-11-03T00:00:00Z")).await.unwrap();
        assert_eq!(then[0].status, RiskStatus::Accepted);
        assert_eq!(
            store.risks_at(t("2026-11-05T00:00:00Z")).await.unwrap(),
            store.risks().await.unwrap()
        );
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_reopened_risk_is_open_without_its_acceptance_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let (store, actor) = open_store(&dir).await;
        let new = NewRisk {
            title: "Shared NHI across agents".into(),
            description: String::new(),
            categories: vec![],
            likelihood: 3,
            impact: 3,
            residual_likelihood: None,
            residual_impact: None,
            owner: None,
            treatment: Treatment::Mitigate,
            due: None,
            findings: vec![],
            controls: vec![],
            agents: vec![],
        };
        store
            .add_risk(&new, t("2026-11-01T00:00:00Z"), &actor)
            .await
            .unwrap();
        let acceptance = Acceptance {
            by: "cro".into(),
            reason: "until the migration".into(),
            at: t("2026-11-02T00:00:00Z"),
            expires: t("2027-01-01T00:00:00Z"),
        };
        store
            .accept_risk(1, acceptance, t("2026-11-02T00:00:00Z"), &actor)
            .await
            .unwrap();
        let reopened = store
            .reopen_risk(1, "migration slipped", t("2026-11-03T00:00:00Z"), &actor)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reopened.status, RiskStatus::Open);
        assert_eq!(reopened.acceptance, None);
        let (_, history) = store.risk(1).await.unwrap().unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.action, "reopen");
        let detail: serde_json::Value = serde_json::from_str(&last.detail).unwrap();
        assert_eq!(
            detail,
            serde_json::json!({"reason": "migration slipped", "was": "accepted"})
        );
        let audit = store.audit_entries().await.unwrap();
        assert_eq!(audit.last().unwrap().action, "risk.reopen");
        assert!(store.verify_audit().await.unwrap().intact());
        store.close().await.unwrap();
    }
}
