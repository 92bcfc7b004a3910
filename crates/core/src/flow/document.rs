//! Reading and writing flow documents: YAML or JSON in, every problem located by its path in the
//! document (and line and column where the parser knows them), YAML out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::model::{
    FLOW_FORMAT, Flow, FlowDocument, REVOCATION_ACTIONS, REVOCATION_TRIGGERS, StepKind,
};
use super::spiffe;
use crate::model::{Action, Autonomy, Sensitivity};

/// One problem in a flow document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowProblem {
    /// Where: a path such as `flow.steps[2].next[0]` (`$` for the whole document).
    pub path: String,
    pub message: String,
}

impl fmt::Display for FlowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A document that cannot be a flow, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct FlowDocumentError {
    pub problems: Vec<FlowProblem>,
}

/// Reads a flow from YAML (JSON is YAML too) and checks it in full.
pub fn parse_flow(text: &str) -> Result<Flow, FlowDocumentError> {
    let deserializer = serde_norway::Deserializer::from_str(text);
    let document: FlowDocument =
        serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            let message = inner.to_string();
            // The YAML reader prefixes its own idea of the path; the located one is ours.
            let mut message = message
                .split_once(": ")
                .filter(|(prefix, _)| !prefix.contains(' '))
                .map_or(message.clone(), |(_, rest)| rest.to_owned());
            // Syntax errors print without their place; the reader knows it.
            if !message.contains(" at line ")
                && let Some(location) = inner.location()
            {
                message.push_str(&format!(
                    " at line {} column {}",
                    location.line(),
                    location.column()
                ));
            }
            FlowDocumentError {
                problems: vec![FlowProblem {
                    // An unknown field named `` at the top has an empty path of its own.
                    path: if path == "." || path.is_empty() {
                        "$".to_owned()
                    } else {
                        path
                    },
                    message,
                }],
            }
        })?;
    let mut problems = Vec::new();
    if document.format != FLOW_FORMAT {
        problems.push(FlowProblem {
            path: "format".to_owned(),
            message: format!(
                "is `{}`; this reader reads `{FLOW_FORMAT}`",
                document.format
            ),
        });
    }
    problems.extend(validate_flow(&document.flow));
    if problems.is_empty() {
        Ok(document.flow)
    } else {
        Err(FlowDocumentError { problems })
    }
}

/// The flow as a reviewable YAML document.
pub fn flow_to_yaml(flow: &Flow) -> String {
    let document = FlowDocument {
        format: FLOW_FORMAT.to_owned(),
        flow: flow.clone(),
    };
    serde_norway::to_string(&document).expect("a flow always serialises")
}

/// Checks what serde cannot: ids, references, vocabularies, the identity template, TTLs, and
/// that the steps form a graph from `start` to `end` steps.
pub fn validate_flow(flow: &Flow) -> Vec<FlowProblem> {
    let mut problems = Vec::new();
    let mut problem = |path: String, message: String| problems.push(FlowProblem { path, message });

    if !is_segment(&flow.id) {
        problem(
            "flow.id".into(),
            format!(
                "`{}` must be a SPIFFE path segment (letters, digits, `.`, `-`, `_`): it names the task in identities and policies",
                flow.id
            ),
        );
    }
    if flow.agent.trim().is_empty() {
        problem("flow.agent".into(), "is empty".into());
    }
    if flow.purpose.trim().is_empty() {
        problem(
            "flow.purpose".into(),
            "is empty: say why the task exists".into(),
        );
    }
    if Sensitivity::parse(&flow.data_sensitivity).is_none() {
        problem(
            "flow.data_sensitivity".into(),
            format!(
                "`{}` is not one of {}",
                flow.data_sensitivity,
                Sensitivity::expected()
            ),
        );
    }
    if let Some(autonomy) = &flow.autonomy
        && Autonomy::parse(autonomy).is_none()
    {
        problem(
            "flow.autonomy".into(),
            format!("`{autonomy}` is not one of {}", Autonomy::expected()),
        );
    }
    match spiffe::render(
        &flow.identity.spiffe_id,
        &flow.agent,
        &flow.id,
        spiffe::SAMPLE_RUN,
    ) {
        Err(message) => problem("flow.identity.spiffe_id".into(), message),
        Ok(rendered) => {
            if let Err(message) = spiffe::validate_spiffe_id(&rendered) {
                problem(
                    "flow.identity.spiffe_id".into(),
                    format!("`{rendered}` (after substitution) {message}"),
                );
            }
        }
    }

    let mut grant_ids = BTreeSet::new();
    for (i, grant) in flow.grants.iter().enumerate() {
        let at = format!("flow.grants[{i}]");
        if !grant_ids.insert(grant.id.as_str()) {
            problem(
                format!("{at}.id"),
                format!("`{}` is declared twice", grant.id),
            );
        }
        if grant.resource.trim().is_empty() {
            problem(format!("{at}.resource"), "is empty".into());
        }
        check_actions(&grant.actions, &format!("{at}.actions"), &mut problem);
    }

    for (i, trigger) in flow.revocation.triggers.iter().enumerate() {
        if !REVOCATION_TRIGGERS.contains(&trigger.as_str()) {
            problem(
                format!("flow.revocation.triggers[{i}]"),
                format!(
                    "`{trigger}` is not one of {}",
                    REVOCATION_TRIGGERS.join(", ")
                ),
            );
        }
    }
    if flow.revocation.triggers.is_empty() {
        problem(
            "flow.revocation.triggers".into(),
            "is empty: name what ends the task's access".into(),
        );
    }
    if !REVOCATION_ACTIONS.contains(&flow.revocation.action.as_str()) {
        problem(
            "flow.revocation.action".into(),
            format!(
                "`{}` is not one of {}",
                flow.revocation.action,
                REVOCATION_ACTIONS.join(", ")
            ),
        );
    }

    let mut step_index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, step) in flow.steps.iter().enumerate() {
        if step_index.insert(step.id.as_str(), i).is_some() {
            problem(
                format!("flow.steps[{i}].id"),
                format!("`{}` is declared twice", step.id),
            );
        }
    }
    if !step_index.contains_key(flow.start.as_str()) {
        problem(
            "flow.start".into(),
            format!("`{}` is not a step", flow.start),
        );
    }
    for (i, step) in flow.steps.iter().enumerate() {
        let at = format!("flow.steps[{i}]");
        let details = [
            ("approval", step.approval.is_some(), StepKind::Approval),
            ("issue", step.issue.is_some(), StepKind::Issue),
            ("tool_call", step.tool_call.is_some(), StepKind::ToolCall),
            ("revoke", step.revoke.is_some(), StepKind::Revoke),
        ];
        for (field, present, kind) in details {
            if present && kind != step.kind {
                problem(
                    format!("{at}.{field}"),
                    format!("does not belong to a `{}` step", step.kind),
                );
            }
            // A revoke step's detail is optional (it then revokes everything issued).
            if !present && kind == step.kind && kind != StepKind::Revoke {
                problem(
                    format!("{at}.{field}"),
                    format!("is required for a `{field}` step"),
                );
            }
        }
        for (j, next) in step.next.iter().enumerate() {
            if !step_index.contains_key(next.as_str()) {
                problem(format!("{at}.next[{j}]"), format!("`{next}` is not a step"));
            }
        }
        match (step.kind == StepKind::End, step.next.is_empty()) {
            (true, false) => problem(
                format!("{at}.next"),
                "an `end` step has no next step".into(),
            ),
            (false, true) => problem(
                format!("{at}.next"),
                "is empty: only `end` steps finish the flow".into(),
            ),
            _ => {}
        }
        if let Some(approval) = &step.approval {
            if approval.approvers.is_empty() {
                problem(format!("{at}.approval.approvers"), "is empty".into());
            }
            let mut countable = 0usize;
            let mut unbounded = false;
            for (k, approver) in approval.approvers.iter().enumerate() {
                let path = format!("{at}.approval.approvers[{k}]");
                match (&approver.person, &approver.role) {
                    (Some(_), Some(_)) | (None, None) => {
                        problem(path, "names exactly one of `person` or `role`".into())
                    }
                    (Some(_), None) if !approver.members.is_empty() => {
                        problem(format!("{path}.members"), "belongs to a role".into())
                    }
                    (Some(_), None) => countable += 1,
                    (None, Some(_)) if approver.members.is_empty() => unbounded = true,
                    (None, Some(_)) => countable += approver.members.len(),
                }
            }
            if approval.quorum == 0 {
                problem(
                    format!("{at}.approval.quorum"),
                    "is 0: at least one approval".into(),
                );
            } else if !unbounded && approval.quorum as usize > countable && countable > 0 {
                problem(
                    format!("{at}.approval.quorum"),
                    format!(
                        "is {} but only {countable} approvers are named",
                        approval.quorum
                    ),
                );
            }
        }
        if let Some(issue) = &step.issue {
            if issue.grants.is_empty() {
                problem(
                    format!("{at}.issue.grants"),
                    "is empty: name the grants the credential carries".into(),
                );
            }
            for (k, grant) in issue.grants.iter().enumerate() {
                if !grant_ids.contains(grant.as_str()) {
                    problem(
                        format!("{at}.issue.grants[{k}]"),
                        format!("`{grant}` is not a declared grant"),
                    );
                }
            }
            if let Some(max) = issue.max_ttl
                && issue.ttl > max
            {
                problem(
                    format!("{at}.issue.ttl"),
                    format!("{} is longer than its max_ttl {max}", issue.ttl),
                );
            }
        }
        if let Some(call) = &step.tool_call {
            if call.resource.trim().is_empty() {
                problem(format!("{at}.tool_call.resource"), "is empty".into());
            }
            check_actions(
                &call.actions,
                &format!("{at}.tool_call.actions"),
                &mut problem,
            );
        }
        if let Some(revoke) = &step.revoke {
            for (k, credential) in revoke.credentials.iter().enumerate() {
                let is_issue = step_index
                    .get(credential.as_str())
                    .is_some_and(|&s| flow.steps[s].kind == StepKind::Issue);
                if !is_issue {
                    problem(
                        format!("{at}.revoke.credentials[{k}]"),
                        format!("`{credential}` is not an `issue` step"),
                    );
                }
            }
        }
    }
    problems
}

fn check_actions(actions: &[String], at: &str, problem: &mut impl FnMut(String, String)) {
    if actions.is_empty() {
        problem(at.to_owned(), "is empty".into());
    }
    for (k, action) in actions.iter().enumerate() {
        if Action::parse(action).is_none() {
            problem(
                format!("{at}[{k}]"),
                format!("`{action}` is not one of {}", Action::expected()),
            );
        }
    }
}

fn is_segment(text: &str) -> bool {
    !text.is_empty()
        && text != "."
        && text != ".."
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}
