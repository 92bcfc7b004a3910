//! One request evaluated against a compiled flow: the entities it needs, its context checked
//! against the schema, Cedar's decision and the policies behind it.

use std::collections::BTreeSet;
use std::str::FromStr;

use bridle_core::flow::{Flow, spiffe};
use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, Request, RestrictedExpression,
};
use serde::{Deserialize, Serialize};

use crate::PolicyError;
use crate::compile::{NAMESPACE, compile};

/// The context attributes every request must carry (`condition_met` is optional).
pub const REQUIRED_CONTEXT: [&str; 5] = ["approved", "task_id", "now", "issued_at", "revoked"];

/// Every context attribute with what its JSON value must be (the schema's `RequestContext`).
const CONTEXT_TYPES: [(&str, JsonType); 6] = [
    ("approved", JsonType::Bool),
    ("task_id", JsonType::String),
    ("now", JsonType::Long),
    ("issued_at", JsonType::Long),
    ("revoked", JsonType::Bool),
    ("condition_met", JsonType::Bool),
];

#[derive(Clone, Copy)]
enum JsonType {
    Bool,
    String,
    Long,
}

impl JsonType {
    fn admits(self, value: &serde_json::Value) -> bool {
        match self {
            JsonType::Bool => value.is_boolean(),
            JsonType::String => value.is_string(),
            JsonType::Long => value.is_i64(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            JsonType::Bool => "true or false",
            JsonType::String => "a string",
            JsonType::Long => "a whole number (epoch seconds) that fits a Cedar Long",
        }
    }
}

/// A request to try against a flow's policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationRequest {
    /// The workload's SPIFFE ID.
    pub principal: String,
    /// An action word (`read`, `write`, …).
    pub action: String,
    /// A resource id (`res:invoices`).
    pub resource: String,
    /// The request context: `approved`, `task_id`, `now`, `issued_at`, `revoked` and optionally
    /// `condition_met`.
    pub context: serde_json::Map<String, serde_json::Value>,
}

/// Cedar's answer to a [`SimulationRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// The ids of the policies that decided (Cedar's reason set), sorted: the permits that
    /// allowed, or the forbids that denied; empty for a deny because nothing permits.
    pub policies: Vec<String>,
    /// Errors met while evaluating policies (such a policy is skipped, as Cedar does).
    pub errors: Vec<String>,
}

/// Compiles `flow`, builds the request's entities, checks the request against the schema and
/// evaluates it.
pub fn simulate(flow: &Flow, request: &SimulationRequest) -> Result<Decision, PolicyError> {
    let compiled = compile(flow)?;
    let schema = &compiled.schema;
    let request_error = |field: &str, message: String| PolicyError::Request {
        field: field.to_owned(),
        message,
    };

    spiffe::validate_spiffe_id(&request.principal).map_err(|message| {
        request_error(
            "principal",
            format!("`{}` is not a SPIFFE ID: it {message}", request.principal),
        )
    })?;
    let actions: BTreeSet<&str> = flow
        .grants
        .iter()
        .flat_map(|grant| grant.actions.iter().map(String::as_str))
        .collect();
    if !actions.contains(request.action.as_str()) {
        return Err(PolicyError::UnknownAction {
            flow: flow.id.clone(),
            action: request.action.clone(),
            known: actions.iter().map(|a| (*a).to_owned()).collect(),
        });
    }
    let missing: Vec<String> = REQUIRED_CONTEXT
        .iter()
        .filter(|name| !request.context.contains_key(**name))
        .map(|name| (*name).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(PolicyError::MissingContext { missing });
    }
    // Cedar checks these types too, but names neither the attribute nor the type it wanted.
    for (name, value) in &request.context {
        let Some((_, expected)) = CONTEXT_TYPES.iter().find(|(known, _)| known == name) else {
            let known: Vec<&str> = CONTEXT_TYPES.iter().map(|(known, _)| *known).collect();
            return Err(request_error(
                "context",
                format!(
                    "`{name}` is not a context attribute; they are {}",
                    known.join(", ")
                ),
            ));
        };
        if !expected.admits(value) {
            return Err(request_error(
                &format!("context.{name}"),
                format!("must be {}, not `{value}`", expected.describe()),
            ));
        }
    }

    let action = uid("Action", &request.action);
    let principal = uid("Workload", &request.principal);
    let resource = uid("Resource", &request.resource);
    let context = Context::from_json_value(
        serde_json::Value::Object(request.context.clone()),
        Some((schema, &action)),
    )
    .map_err(|error| request_error("context", error.to_string()))?;
    let cedar_request = Request::new(
        principal.clone(),
        action,
        resource.clone(),
        context,
        Some(schema),
    )
    .map_err(|error| request_error("context", error.to_string()))?;

    let workload = Entity::new(
        principal,
        [
            (
                "spiffe_id".to_owned(),
                RestrictedExpression::new_string(request.principal.clone()),
            ),
            (
                "task".to_owned(),
                RestrictedExpression::new_string(flow.id.clone()),
            ),
        ]
        .into(),
        Default::default(),
    )
    .map_err(|error| request_error("principal", error.to_string()))?;
    let entities = Entities::from_entities(
        [workload, Entity::new_no_attrs(resource, Default::default())],
        Some(schema),
    )
    .map_err(|error| request_error("entities", error.to_string()))?;

    let response = Authorizer::new().is_authorized(&cedar_request, &compiled.policy_set, &entities);
    let mut policies: Vec<String> = response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    policies.sort();
    Ok(Decision {
        allowed: response.decision() == CedarDecision::Allow,
        policies,
        errors: response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect(),
    })
}

/// `Bridle::<kind>::"<id>"`; the id is taken as it is (no parsing, so no escaping needed).
fn uid(kind: &str, id: &str) -> EntityUid {
    let type_name = EntityTypeName::from_str(&format!("{NAMESPACE}::{kind}"))
        .expect("the generated entity type names parse");
    EntityUid::from_type_name_and_id(type_name, EntityId::new(id))
}
