//! The objects of a kubectl `List`, read by their `kind` so that every problem keeps its full
//! JSON path, and the Secret items reduced to the metadata Bridle may look at before anything
//! else sees them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::BrokerError;

#[derive(Debug, Deserialize)]
pub(super) struct ItemList {
    pub kind: String,
    /// Read as values first and then by their `kind`, so that a problem inside an item keeps its
    /// full JSON path (an internally tagged enum would lose it).
    pub items: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct ItemKind {
    kind: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Metadata {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ServiceAccountItem {
    pub metadata: Metadata,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RoleItem {
    pub metadata: Metadata,
    #[serde(default)]
    pub rules: Option<Vec<Rule>>,
    #[serde(default)]
    pub aggregation_rule: Option<AggregationRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AggregationRule {
    #[serde(default)]
    pub cluster_role_selectors: Option<Vec<LabelSelector>>,
}

/// A Kubernetes label selector: every `matchLabels` pair and every expression must hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LabelSelector {
    #[serde(default)]
    pub match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub match_expressions: Option<Vec<LabelExpression>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct LabelExpression {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BindingItem {
    pub metadata: Metadata,
    pub role_ref: RoleRef,
    #[serde(default)]
    pub subjects: Option<Vec<Subject>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Rule {
    pub verbs: Vec<String>,
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
    #[serde(default, rename = "nonResourceURLs")]
    pub non_resource_urls: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RoleRef {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Subject {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// A Secret as Bridle keeps it: which account's token it is, never what it holds.
#[derive(Debug, Deserialize)]
pub(super) struct SecretItem {
    pub metadata: SecretMetadata,
    #[serde(default, rename = "type")]
    pub secret_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SecretMetadata {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The annotation that names the service account a token Secret authenticates as.
pub(super) const SERVICE_ACCOUNT_ANNOTATION: &str = "kubernetes.io/service-account.name";
pub(super) const SERVICE_ACCOUNT_TOKEN_TYPE: &str = "kubernetes.io/service-account-token";

#[derive(Debug)]
pub(super) enum Item {
    ServiceAccount(ServiceAccountItem),
    Role(RoleItem),
    ClusterRole(RoleItem),
    RoleBinding(BindingItem),
    ClusterRoleBinding(BindingItem),
    Secret(SecretItem),
}

/// Drops everything of a Secret item but its kind, type, name, namespace and service-account
/// annotation, before any typed reading: `data`, `stringData` and annotations such as
/// `kubectl.kubernetes.io/last-applied-configuration` (which can repeat the data) must never be
/// kept, stored or echoed in an error message.
fn reduce_secret(value: &mut Value) {
    let Value::Object(object) = value else {
        return;
    };
    object.retain(|key, _| matches!(key.as_str(), "apiVersion" | "kind" | "type" | "metadata"));
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        metadata.retain(|key, _| matches!(key.as_str(), "name" | "namespace" | "annotations"));
        if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
            annotations.retain(|key, _| key == SERVICE_ACCOUNT_ANNOTATION);
        }
    }
}

/// Reads `items[index]` by its kind, locating problems under `items[index]`.
pub(super) fn read_item(mut value: Value, index: usize, file: &str) -> Result<Item, BrokerError> {
    fn typed<T: serde::de::DeserializeOwned>(
        value: &Value,
        index: usize,
        file: &str,
    ) -> Result<T, BrokerError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.path().to_string();
            BrokerError::File {
                file: file.to_owned(),
                location: if inner == "." || inner.is_empty() {
                    format!("items[{index}]")
                } else if inner.starts_with('[') {
                    // An item that is an array: `items[1][0]`, not `items[1].[0]`.
                    format!("items[{index}]{inner}")
                } else {
                    format!("items[{index}].{inner}")
                },
                message: e.into_inner().to_string(),
            }
        })
    }
    let ItemKind { kind } = typed(&value, index, file)?;
    Ok(match kind.as_str() {
        "ServiceAccount" => Item::ServiceAccount(typed(&value, index, file)?),
        "Role" => Item::Role(typed(&value, index, file)?),
        "ClusterRole" => Item::ClusterRole(typed(&value, index, file)?),
        "RoleBinding" => Item::RoleBinding(typed(&value, index, file)?),
        "ClusterRoleBinding" => Item::ClusterRoleBinding(typed(&value, index, file)?),
        "Secret" => {
            reduce_secret(&mut value);
            Item::Secret(typed(&value, index, file)?)
        }
        other => {
            return Err(BrokerError::File {
                file: file.to_owned(),
                location: format!("items[{index}].kind"),
                message: format!(
                    "unexpected kind `{other}`: expected ServiceAccount, Secret, Role, ClusterRole, RoleBinding or ClusterRoleBinding"
                ),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_secret_keeps_only_its_type_name_namespace_and_account() {
        let secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "data": {"token": "c2VjcmV0LXZhbHVl"},
            "stringData": {"password": "hunter2"},
            "metadata": {
                "name": "deployer-token",
                "namespace": "ci",
                "uid": "1",
                "annotations": {
                    "kubernetes.io/service-account.name": "deployer",
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"token\":\"c2VjcmV0LXZhbHVl\"}}"
                }
            }
        });
        let mut reduced = secret.clone();
        reduce_secret(&mut reduced);
        let text = reduced.to_string();
        for secret_text in ["c2VjcmV0LXZhbHVl", "hunter2", "last-applied", "\"data\""] {
            assert!(!text.contains(secret_text), "{secret_text} kept in {text}");
        }
        let Item::Secret(item) = read_item(secret, 0, "f.json").unwrap() else {
            panic!("not a secret");
        };
        assert_eq!(item.metadata.name, "deployer-token");
        assert_eq!(
            item.secret_type.as_deref(),
            Some(SERVICE_ACCOUNT_TOKEN_TYPE)
        );
    }

    #[test]
    fn a_malformed_secret_never_echoes_its_data() {
        // `data` of the wrong type would otherwise appear in serde's message.
        let secret = json!({
            "kind": "Secret",
            "data": ["c2VjcmV0LXZhbHVl"],
            "metadata": {"name": 7}
        });
        let Err(BrokerError::File {
            location, message, ..
        }) = read_item(secret, 4, "f.json")
        else {
            panic!("expected an error");
        };
        assert_eq!(location, "items[4].metadata.name");
        assert!(!message.contains("c2VjcmV0"), "{message}");
    }

    #[test]
    fn an_item_that_is_an_array_is_located_by_its_index() {
        // Found by the fuzz tests: this was `items[1].[0]`.
        let Err(BrokerError::File { location, .. }) = read_item(json!([null]), 1, "f.json") else {
            panic!("expected an error");
        };
        assert_eq!(location, "items[1][0]");
    }
}
