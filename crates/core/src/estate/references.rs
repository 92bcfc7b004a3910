//! Reference checks over a whole inventory (all sources together), for imports that replace one
//! source: removing an entity another source still names would leave that reference dangling.

use std::collections::HashMap;

use crate::model::{EntityKind, Estate};

/// Every reference in `estate` that does not name an entity of an allowed kind, as sentences
/// naming the referring entity and field.
pub fn dangling_references(estate: &Estate) -> Vec<String> {
    let mut kinds: HashMap<&str, EntityKind> = HashMap::new();
    let entities = [
        (
            EntityKind::Agent,
            estate
                .agents
                .iter()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            EntityKind::Identity,
            estate.identities.iter().map(|e| e.id.as_str()).collect(),
        ),
        (
            EntityKind::Credential,
            estate.credentials.iter().map(|e| e.id.as_str()).collect(),
        ),
        (
            EntityKind::Resource,
            estate.resources.iter().map(|e| e.id.as_str()).collect(),
        ),
        (
            EntityKind::Tool,
            estate.tools.iter().map(|e| e.id.as_str()).collect(),
        ),
    ];
    for (kind, ids) in &entities {
        for id in ids {
            kinds.insert(id, *kind);
        }
    }
    let mut problems = Vec::new();
    let mut check = |owner: &str, field: &str, id: &str, allowed: &[EntityKind]| {
        if !kinds.get(id).is_some_and(|kind| allowed.contains(kind)) {
            problems.push(format!(
                "`{owner}` ({field}) names `{id}`, which would no longer exist"
            ));
        }
    };
    for agent in &estate.agents {
        for id in &agent.runs_as {
            check(&agent.id, "runs_as", id, &[EntityKind::Identity]);
        }
    }
    for credential in &estate.credentials {
        check(
            &credential.id,
            "identity",
            &credential.identity,
            &[EntityKind::Identity],
        );
    }
    for resource in &estate.resources {
        for id in &resource.holds_credentials {
            check(
                &resource.id,
                "holds_credentials",
                id,
                &[EntityKind::Credential],
            );
        }
        for id in &resource.runs_as {
            check(&resource.id, "runs_as", id, &[EntityKind::Identity]);
        }
    }
    for tool in &estate.tools {
        if let Some(id) = &tool.runs_as {
            check(&tool.id, "runs_as", id, &[EntityKind::Identity]);
        }
        for entry in &tool.acts_on {
            check(
                &tool.id,
                "acts_on",
                &entry.resource,
                &[EntityKind::Resource],
            );
        }
    }
    for grant in &estate.grants {
        check(
            &grant.id,
            "subject",
            &grant.subject,
            &[EntityKind::Agent, EntityKind::Identity],
        );
        check(
            &grant.id,
            "target",
            &grant.target,
            &[
                EntityKind::Agent,
                EntityKind::Identity,
                EntityKind::Tool,
                EntityKind::Resource,
            ],
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estate::{Syntax, parse};

    #[test]
    fn finds_references_to_entities_that_are_gone() {
        let text = r#"{"bridle":"estate/v1",
          "agents":[{"id":"agent:a","name":"A","autonomy":"assistive","runs_as":["id:a"]}],
          "identities":[{"id":"id:a","kind":"spiffe","name":"a"}],
          "grants":[{"id":"g1","subject":"id:a","target":"agent:a","actions":["delegate"],"standing":true}]}"#;
        let mut estate = parse(text.as_bytes(), Syntax::Json).estate.unwrap();
        assert!(dangling_references(&estate).is_empty());
        estate.identities.clear();
        assert_eq!(
            dangling_references(&estate),
            [
                "`agent:a` (runs_as) names `id:a`, which would no longer exist",
                "`g1` (subject) names `id:a`, which would no longer exist",
            ]
        );
    }
}
