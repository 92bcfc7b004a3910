//! A flow compiled to a Cedar schema and policy set, validated (strict) before it is returned.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use bridle_core::flow::{Flow, FlowGrant, StepKind, spiffe};
use cedar_policy::{Policy, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use serde::Serialize;

use crate::PolicyError;
use crate::cedar_text::{comment_text, escape_pattern_literal, escape_string};

/// The Cedar namespace of every generated schema and policy.
pub const NAMESPACE: &str = "Bridle";
/// The id of the forbid rule that allows nothing before approval.
pub const REQUIRE_APPROVAL: &str = "require-approval";
/// The id of the forbid rule that allows nothing once the task's access is revoked.
pub const KILL_SWITCH: &str = "kill-switch";
/// The revocation triggers that make the flow's access revocable at request time.
const REVOKING_TRIGGERS: [&str; 2] = ["kill_switch", "task_end"];

/// The Cedar text of one flow: its schema, its policies, and the policies' ids in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CedarBundle {
    /// The schema, in the Cedar schema format (`.cedarschema`).
    pub schema: String,
    /// The policies (`.cedar`): each preceded by a one-line `//` comment saying which grant or
    /// rule it comes from, and carrying its id in an `@id` annotation.
    pub policies: String,
    /// The policy ids in the order of `policies`: `grant:<grant id>`, then the forbid rules.
    pub policy_ids: Vec<String>,
}

/// Generates the schema and policies of `flow` and validates the policies against the schema in
/// strict mode; a validation failure is an error carrying every message Cedar gave.
pub fn compile_flow(flow: &Flow) -> Result<CedarBundle, PolicyError> {
    Ok(compile(flow)?.bundle)
}

/// A compiled flow with the parsed Cedar objects the simulator evaluates against.
pub(crate) struct Compiled {
    pub(crate) bundle: CedarBundle,
    pub(crate) schema: Schema,
    pub(crate) policy_set: PolicySet,
}

pub(crate) fn compile(flow: &Flow) -> Result<Compiled, PolicyError> {
    let principal = principal_conditions(flow)?;
    let actions = schema_actions(flow);
    let schema_text = schema_text(&actions);
    let (schema, _warnings) =
        Schema::from_cedarschema_str(&schema_text).map_err(|error| PolicyError::Schema {
            flow: flow.id.clone(),
            message: error.to_string(),
        })?;

    let generated = generate_policies(flow, &principal)?;
    let mut policy_set = PolicySet::new();
    let mut policies = String::new();
    let mut policy_ids = Vec::with_capacity(generated.len());
    for policy in generated {
        let parsed =
            Policy::parse(Some(PolicyId::new(&policy.id)), &policy.text).map_err(|error| {
                PolicyError::Policy {
                    flow: flow.id.clone(),
                    policy: policy.id.clone(),
                    message: error.to_string(),
                }
            })?;
        policy_set
            .add(parsed)
            .map_err(|error| PolicyError::Policy {
                flow: flow.id.clone(),
                policy: policy.id.clone(),
                message: error.to_string(),
            })?;
        if !policies.is_empty() {
            policies.push('\n');
        }
        policies.push_str(&policy.text);
        policy_ids.push(policy.id);
    }

    let validation = Validator::new(schema.clone()).validate(&policy_set, ValidationMode::Strict);
    if !validation.validation_passed() {
        return Err(PolicyError::Validation {
            flow: flow.id.clone(),
            messages: validation
                .validation_errors()
                .map(|error| format!("policy `{}`: {error}", error.policy_id()))
                .collect(),
        });
    }

    Ok(Compiled {
        bundle: CedarBundle {
            schema: schema_text,
            policies,
            policy_ids,
        },
        schema,
        policy_set,
    })
}

/// The conditions (joined by `&&`) under which `principal` is one of the task's runs: its SPIFFE
/// ID is the identity template with `{agent}` and `{task}` filled in and `{run}` one non-empty
/// path segment. Cedar's `like` wildcard also matches `/` and nothing at all, so the pattern is
/// narrowed: no `/` inside the run (with one wildcard, the text it matches is fixed by the
/// lengths around it, so `like "P*/*S"` says exactly that) and not empty. Every other character
/// is escaped, so only `{run}` is a wildcard.
fn principal_conditions(flow: &Flow) -> Result<Vec<String>, PolicyError> {
    let template = &flow.identity.spiffe_id;
    let identity_error = |message: String| PolicyError::Identity {
        flow: flow.id.clone(),
        template: template.clone(),
        message,
    };
    // The whole template first, so that its errors are about the template as written.
    let sample = spiffe::render(template, &flow.agent, &flow.id, spiffe::SAMPLE_RUN)
        .map_err(identity_error)?;
    spiffe::validate_spiffe_id(&sample)
        .map_err(|message| identity_error(format!("renders as `{sample}`, which {message}")))?;
    let parts = template
        .split("{run}")
        .map(|part| spiffe::render(part, &flow.agent, &flow.id, ""))
        .collect::<Result<Vec<String>, String>>()
        .map_err(identity_error)?;
    match parts.as_slice() {
        [id] => Ok(vec![format!(
            "principal.spiffe_id == \"{}\"",
            escape_string(id)
        )]),
        [prefix, suffix] => {
            let (p, s) = (
                escape_pattern_literal(prefix),
                escape_pattern_literal(suffix),
            );
            Ok(vec![
                format!("principal.spiffe_id like \"{p}*{s}\""),
                format!("!(principal.spiffe_id like \"{p}*/*{s}\")"),
                format!(
                    "principal.spiffe_id != \"{}{}\"",
                    escape_string(prefix),
                    escape_string(suffix)
                ),
            ])
        }
        _ => Err(identity_error(
            "uses `{run}` more than once; a Cedar pattern cannot require both to be the same run"
                .to_owned(),
        )),
    }
}

/// Every action word the flow's grants use, sorted and once each.
fn schema_actions(flow: &Flow) -> BTreeSet<&str> {
    flow.grants
        .iter()
        .flat_map(|grant| grant.actions.iter().map(String::as_str))
        .collect()
}

fn schema_text(actions: &BTreeSet<&str>) -> String {
    let mut text = format!(
        "// Generated by Bridle from an approval flow (bridle.flow/v1).\n\
         namespace {NAMESPACE} {{\n  \
           // The task's workload: its SPIFFE ID and the task (flow) id.\n  \
           entity Workload = {{\n    spiffe_id: String,\n    task: String,\n  }};\n  \
           // A resource of the inventory, by its id.\n  \
           entity Resource = {{\n    sensitivity?: String,\n  }};\n  \
           // What every request carries; times are epoch seconds.\n  \
           type RequestContext = {{\n    \
             approved: Bool,\n    \
             task_id: String,\n    \
             now: Long,\n    \
             issued_at: Long,\n    \
             revoked: Bool,\n    \
             condition_met?: Bool,\n  \
           }};\n"
    );
    if !actions.is_empty() {
        let names: Vec<String> = actions
            .iter()
            .map(|action| format!("\"{}\"", escape_string(action)))
            .collect();
        let _ = write!(
            text,
            "  // The actions the flow's grants use.\n  \
             action {} appliesTo {{\n    \
               principal: [Workload],\n    \
               resource: [Resource],\n    \
               context: RequestContext,\n  \
             }};\n",
            names.join(", ")
        );
    }
    text.push_str("}\n");
    text
}

struct GeneratedPolicy {
    id: String,
    text: String,
}

fn generate_policies(
    flow: &Flow,
    principal: &[String],
) -> Result<Vec<GeneratedPolicy>, PolicyError> {
    let approval_steps: Vec<&str> = flow
        .steps
        .iter()
        .filter(|step| step.kind == StepKind::Approval)
        .map(|step| step.id.as_str())
        .collect();
    let mut policies = Vec::new();
    for grant in &flow.grants {
        policies.push(grant_policy(
            flow,
            grant,
            principal,
            !approval_steps.is_empty(),
        )?);
    }
    if !approval_steps.is_empty() {
        policies.push(GeneratedPolicy {
            id: REQUIRE_APPROVAL.to_owned(),
            text: format!(
                "// rule {REQUIRE_APPROVAL}: the flow asks for approval (step {}); \
                 the task's workload gets nothing before it\n\
                 @id(\"{REQUIRE_APPROVAL}\")\n\
                 forbid (\n  principal is {NAMESPACE}::Workload,\n  action,\n  \
                 resource is {NAMESPACE}::Resource\n)\n\
                 when {{\n  {}\n}}\n\
                 unless {{ context.approved }};\n",
                comment_text(&approval_steps.join(", ")),
                principal.join(" &&\n  "),
            ),
        });
    }
    let revoking: Vec<&str> = flow
        .revocation
        .triggers
        .iter()
        .map(String::as_str)
        .filter(|trigger| REVOKING_TRIGGERS.contains(trigger))
        .collect();
    if !revoking.is_empty() {
        policies.push(GeneratedPolicy {
            id: KILL_SWITCH.to_owned(),
            text: format!(
                "// rule {KILL_SWITCH}: revocation is triggered by {}; \
                 nothing is allowed once access is revoked\n\
                 @id(\"{KILL_SWITCH}\")\n\
                 forbid (\n  principal is {NAMESPACE}::Workload,\n  action,\n  \
                 resource is {NAMESPACE}::Resource\n)\n\
                 when {{ context.revoked }};\n",
                revoking.join(", "),
            ),
        });
    }
    Ok(policies)
}

fn grant_policy(
    flow: &Flow,
    grant: &FlowGrant,
    principal: &[String],
    needs_approval: bool,
) -> Result<GeneratedPolicy, PolicyError> {
    let id = format!("grant:{}", grant.id);
    let mut actions: Vec<&str> = Vec::new();
    for action in &grant.actions {
        if !actions.contains(&action.as_str()) {
            actions.push(action);
        }
    }
    let mut comment = format!(
        "// grant {}: {} on {}",
        comment_text(&grant.id),
        comment_text(&actions.join(", ")),
        comment_text(&grant.resource)
    );
    let mut conditions = principal.to_vec();
    conditions.push(format!(
        "context.task_id == \"{}\"",
        escape_string(&flow.id)
    ));
    if needs_approval {
        comment.push_str(", once approved");
        conditions.push("context.approved".to_owned());
    }
    if let Some(ttl) = grant.ttl {
        let secs = i64::try_from(ttl.secs()).map_err(|_| PolicyError::Ttl {
            flow: flow.id.clone(),
            grant: grant.id.clone(),
            secs: ttl.secs(),
        })?;
        let _ = write!(comment, ", for {ttl} from issue");
        conditions.push("context.now >= context.issued_at".to_owned());
        conditions.push(format!("context.now < context.issued_at + {secs}"));
    }
    let mut annotations = format!("@id(\"{}\")\n", escape_string(&id));
    if let Some(condition) = &grant.condition {
        comment.push_str(", if its condition holds");
        let _ = writeln!(annotations, "@condition(\"{}\")", escape_string(condition));
        conditions.push("context has condition_met".to_owned());
        conditions.push("context.condition_met".to_owned());
    }
    let action_list: Vec<String> = actions
        .iter()
        .map(|action| format!("{NAMESPACE}::Action::\"{}\"", escape_string(action)))
        .collect();
    let text = format!(
        "{comment}\n{annotations}permit (\n  principal is {NAMESPACE}::Workload,\n  \
         action in [{}],\n  resource == {NAMESPACE}::Resource::\"{}\"\n)\n\
         when {{\n  {}\n}};\n",
        action_list.join(", "),
        escape_string(&grant.resource),
        conditions.join(" &&\n  "),
    );
    Ok(GeneratedPolicy { id, text })
}
