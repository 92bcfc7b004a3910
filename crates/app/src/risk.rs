//! The risk register: reading it at an evaluation time, validated changes through the store
//! (each with its audit entry), and risks suggested from failing findings.

use bridle_core::compliance::{Catalog, ControlLibrary, Framework, draft_label_hint};
use bridle_core::risk::{self, Acceptance, Risk, Treatment};
use bridle_core::time::Timestamp;
use bridle_protocol::compliance as protocol;
use bridle_store::{Actor, NewRisk, RiskChange};

use crate::Bridle;
use crate::compliance::known_check;
use crate::error::{ApiError, ErrorCode, api_error, store_error};

fn invalid(message: impl Into<String>) -> ApiError {
    api_error(ErrorCode::InvalidInput, message)
}

fn not_found(id: i64) -> ApiError {
    api_error(ErrorCode::NotFound, format!("no risk R-{id}"))
}

/// Reads `R-12` or `12`.
pub fn parse_risk_id(text: &str) -> Result<i64, ApiError> {
    text.strip_prefix("R-")
        .unwrap_or(text)
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            invalid(format!(
                "`{text}` is not a risk id (R-1, R-2, … or 1, 2, …)"
            ))
        })
}

fn rating(name: &str, value: u8) -> Result<u8, ApiError> {
    if risk::valid_rating(value) {
        Ok(value)
    } else {
        Err(invalid(format!("{name} must be 1 to 5, not {value}")))
    }
}

fn treatment(word: &str) -> Result<Treatment, ApiError> {
    Treatment::parse(word).ok_or_else(|| {
        invalid(format!(
            "unknown treatment `{word}`; expected mitigate, accept, transfer or avoid"
        ))
    })
}

fn categories(list: &[String]) -> Result<Vec<String>, ApiError> {
    for category in list {
        let found = category.split_once(':').and_then(|(framework, item)| {
            Framework::parse(framework).and_then(|f| Catalog::get(f).item(item))
        });
        if found.is_none() {
            let hint = draft_label_hint(category)
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            return Err(invalid(format!(
                "category `{category}` is not a framework item (write it as framework:item, e.g. owasp-nhi:NHI7 or nist-ai-rmf:MANAGE 1.4){hint}"
            )));
        }
    }
    Ok(list.to_vec())
}

fn findings(list: &[String]) -> Result<Vec<String>, ApiError> {
    for link in list {
        let check = link
            .split_once('@')
            .map_or(link.as_str(), |(check, _)| check);
        if !known_check(check) {
            return Err(invalid(format!(
                "finding `{link}` names no known check (write check@subject or a check id; see `bridle controls`)"
            )));
        }
    }
    Ok(list.to_vec())
}

fn controls(list: &[String]) -> Result<Vec<String>, ApiError> {
    for id in list {
        if ControlLibrary::get().control(id).is_none() {
            return Err(invalid(format!("unknown control `{id}`")));
        }
    }
    Ok(list.to_vec())
}

fn nonempty(name: &str, text: &str) -> Result<String, ApiError> {
    if text.trim().is_empty() {
        Err(invalid(format!("{name} must not be empty")))
    } else {
        Ok(text.to_owned())
    }
}

/// A risk as it stands at `at`.
pub(crate) fn risk_at(r: &Risk, at: Timestamp) -> protocol::Risk {
    let (status, reopened) = r.status_at(at);
    protocol::Risk {
        id: r.id,
        title: r.title.clone(),
        description: r.description.clone(),
        categories: r.categories.clone(),
        likelihood: r.likelihood,
        impact: r.impact,
        inherent_score: r.inherent_score(),
        inherent_level: risk::level(r.inherent_score()).as_str().to_owned(),
        residual_likelihood: r.residual_likelihood,
        residual_impact: r.residual_impact,
        residual_score: r.residual_score(),
        residual_level: risk::level(r.residual_score()).as_str().to_owned(),
        owner: r.owner.clone(),
        treatment: r.treatment.as_str().to_owned(),
        status: status.as_str().to_owned(),
        reopened,
        due: r.due,
        acceptance: r.acceptance.as_ref().map(|a| protocol::Acceptance {
            by: a.by.clone(),
            reason: a.reason.clone(),
            at: a.at,
            expires: a.expires,
            expired: a.expires <= at,
        }),
        findings: r.findings.clone(),
        controls: r.controls.clone(),
        agents: r.agents.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
        at,
    }
}

impl Bridle {
    /// The register as it stood at `at` (each risk's version in force then; one added later is
    /// not in it), with expiries evaluated at `at`, by id.
    pub async fn risks(&self, at: Timestamp) -> Result<Vec<protocol::Risk>, ApiError> {
        Ok(self
            .store
            .risks_at(at)
            .await
            .map_err(store_error)?
            .iter()
            .map(|r| risk_at(r, at))
            .collect())
    }

    /// One risk at `at`, with its full history.
    pub async fn risk(&self, id: i64, at: Timestamp) -> Result<protocol::RiskDetail, ApiError> {
        let (risk, history) = self
            .store
            .risk(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))?;
        Ok(protocol::RiskDetail {
            risk: risk_at(&risk, at),
            history: history
                .into_iter()
                .map(|e| protocol::RiskEvent {
                    at: e.at,
                    user: e.user,
                    host: e.host,
                    action: e.action,
                    detail: e.detail,
                    audit_seq: e.audit_seq,
                })
                .collect(),
        })
    }

    /// Records a new open risk (`at`: the time of the change).
    pub async fn add_risk(
        &self,
        new: &protocol::NewRisk,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::Risk, ApiError> {
        let new = NewRisk {
            title: nonempty("the title", &new.title)?,
            description: new.description.clone(),
            categories: categories(&new.categories)?,
            likelihood: rating("likelihood", new.likelihood)?,
            impact: rating("impact", new.impact)?,
            residual_likelihood: new
                .residual_likelihood
                .map(|v| rating("residual likelihood", v))
                .transpose()?,
            residual_impact: new
                .residual_impact
                .map(|v| rating("residual impact", v))
                .transpose()?,
            owner: new.owner.clone(),
            treatment: treatment(new.treatment.as_deref().unwrap_or("mitigate"))?,
            due: new.due,
            findings: findings(&new.findings)?,
            controls: controls(&new.controls)?,
            agents: new.agents.clone(),
        };
        let risk = self
            .store
            .add_risk(&new, at, actor)
            .await
            .map_err(store_error)?;
        Ok(risk_at(&risk, at))
    }

    pub async fn update_risk(
        &self,
        id: i64,
        change: &protocol::RiskChange,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::Risk, ApiError> {
        let change = RiskChange {
            title: change
                .title
                .as_deref()
                .map(|t| nonempty("the title", t))
                .transpose()?,
            description: change.description.clone(),
            categories: change.categories.as_deref().map(categories).transpose()?,
            likelihood: change
                .likelihood
                .map(|v| rating("likelihood", v))
                .transpose()?,
            impact: change.impact.map(|v| rating("impact", v)).transpose()?,
            residual_likelihood: change
                .residual_likelihood
                .map(|v| rating("residual likelihood", v).map(Some))
                .transpose()?,
            residual_impact: change
                .residual_impact
                .map(|v| rating("residual impact", v).map(Some))
                .transpose()?,
            owner: change.owner.clone().map(Some),
            treatment: change.treatment.as_deref().map(treatment).transpose()?,
            due: change.due.map(Some),
            findings: change.findings.as_deref().map(findings).transpose()?,
            controls: change.controls.as_deref().map(controls).transpose()?,
            agents: change.agents.clone(),
        };
        let risk = self
            .store
            .update_risk(id, &change, at, actor)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))?;
        Ok(risk_at(&risk, at))
    }

    /// Accepts a risk until `expires`; `by` defaults to the acting user.
    pub async fn accept_risk(
        &self,
        id: i64,
        by: Option<&str>,
        reason: &str,
        expires: Timestamp,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::Risk, ApiError> {
        let acceptance = Acceptance {
            by: by.map_or_else(|| actor.user.clone(), str::to_owned),
            reason: nonempty("the reason for accepting", reason)?,
            at,
            expires,
        };
        let risk = self
            .store
            .accept_risk(id, acceptance, at, actor)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))?;
        Ok(risk_at(&risk, at))
    }

    pub async fn close_risk(
        &self,
        id: i64,
        reason: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::Risk, ApiError> {
        let reason = nonempty("the reason for closing", reason)?;
        let risk = self
            .store
            .close_risk(id, &reason, at, actor)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))?;
        Ok(risk_at(&risk, at))
    }

    pub async fn comment_risk(
        &self,
        id: i64,
        text: &str,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::Risk, ApiError> {
        let text = nonempty("the comment", text)?;
        let risk = self
            .store
            .comment_risk(id, &text, at, actor)
            .await
            .map_err(store_error)?
            .ok_or_else(|| not_found(id))?;
        Ok(risk_at(&risk, at))
    }

    /// Risks proposed from the checks failing at `at` (not recorded).
    pub async fn suggest_risks(
        &self,
        at: Timestamp,
    ) -> Result<Vec<protocol::RiskSuggestion>, ApiError> {
        let findings = self.findings(at).await?;
        Ok(risk::suggest(&findings)
            .into_iter()
            .zip(checks_of(&findings))
            .map(|(s, check)| protocol::RiskSuggestion {
                check,
                score: risk::score(s.likelihood, s.impact),
                level: risk::level(risk::score(s.likelihood, s.impact))
                    .as_str()
                    .to_owned(),
                title: s.title,
                description: s.description,
                categories: s.categories,
                likelihood: s.likelihood,
                impact: s.impact,
                reasoning: s.reasoning,
                findings: s.findings,
                controls: s.controls,
                agents: s.agents,
            })
            .collect())
    }
}

impl Bridle {
    /// Records the risk suggested for `check` by the findings at `evaluated_at`.
    pub async fn add_suggested_risk(
        &self,
        check: &str,
        evaluated_at: Timestamp,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<protocol::Risk, ApiError> {
        let suggestion = self
            .suggest_risks(evaluated_at)
            .await?
            .into_iter()
            .find(|s| s.check == check)
            .ok_or_else(|| {
                invalid(format!(
                    "no risk to suggest for `{check}`: it has no failing finding at this time (see `bridle risk suggest`)"
                ))
            })?;
        let mut description = suggestion.description;
        description.push_str("\n\nRatings proposed by Bridle: ");
        description.push_str(&suggestion.reasoning.join("; "));
        let new = protocol::NewRisk {
            title: suggestion.title,
            description,
            categories: suggestion.categories,
            likelihood: suggestion.likelihood,
            impact: suggestion.impact,
            findings: suggestion.findings,
            controls: suggestion.controls,
            agents: suggestion.agents,
            ..protocol::NewRisk::default()
        };
        self.add_risk(&new, at, actor).await
    }
}

/// The checks with failing findings, in the order `risk::suggest` lists them.
fn checks_of(findings: &[bridle_core::compliance::Finding]) -> Vec<String> {
    let mut checks: Vec<String> = Vec::new();
    for f in findings
        .iter()
        .filter(|f| f.status == bridle_core::compliance::Status::Fail)
    {
        if !checks.iter().any(|c| c == f.check) {
            checks.push(f.check.to_owned());
        }
    }
    checks
}
