//! The server's answers this connector reads, as typed structs. Fields the mapping uses are
//! typed; facts copied verbatim into observations (role settings, token and lease details) stay
//! JSON, since each auth method has its own. Vault answers `null` for many empty lists, so every
//! list defaults when null.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// `null` (or a missing field) as the type's default.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A metadata map whose values should be strings; anything else is kept as its JSON text.
fn string_map<'de, D>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let map: Option<BTreeMap<String, Value>> = Option::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// `{"data": T, …}`, the envelope of every answer.
#[derive(Debug, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
}

/// One entry of `sys/mounts` or `sys/auth`.
#[derive(Debug, Clone, Deserialize)]
pub struct Mount {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub accessor: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default, deserialize_with = "nullable")]
    pub options: BTreeMap<String, Value>,
}

impl Mount {
    /// A KV engine's version (1 unless `options.version` says 2).
    pub fn kv_version(&self) -> u8 {
        match self.options.get("version").and_then(Value::as_str) {
            Some("2") => 2,
            _ => 1,
        }
    }
}

/// A role of an auth method (approle, jwt/oidc, kubernetes, token roles, userpass users).
#[derive(Debug, Clone, Deserialize)]
pub struct RoleData {
    #[serde(default, deserialize_with = "nullable")]
    pub token_policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub allowed_policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub token_no_default_policy: bool,
    /// Everything the role says, for its observation.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

/// `auth/<approle>/role/<name>/role-id`.
#[derive(Debug, Clone, Deserialize)]
pub struct RoleId {
    pub role_id: String,
}

/// `sys/policies/acl/<name>`.
#[derive(Debug, Clone, Deserialize)]
pub struct PolicyText {
    pub policy: String,
}

/// `identity/entity/id/<id>`.
#[derive(Debug, Clone, Deserialize)]
pub struct Entity {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub disabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub aliases: Vec<Alias>,
    #[serde(default, deserialize_with = "nullable")]
    pub group_ids: Vec<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Alias {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub mount_accessor: String,
    #[serde(default, deserialize_with = "nullable")]
    pub mount_path: String,
    #[serde(default, deserialize_with = "nullable")]
    pub mount_type: String,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_map")]
    pub custom_metadata: BTreeMap<String, String>,
}

/// `identity/group/id/<id>`.
#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub member_entity_ids: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub member_group_ids: Vec<String>,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
}

/// `auth/token/lookup-accessor` (the `id` field is empty in this answer and never kept).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenLookup {
    #[serde(default, deserialize_with = "nullable")]
    pub display_name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub identity_policies: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub entity_id: String,
    #[serde(default)]
    pub creation_time: Option<i64>,
    #[serde(default)]
    pub expire_time: Option<String>,
    /// Everything the lookup says, for the token's observation.
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

/// `auth/token/lookup-self`, for `broker test`.
#[derive(Debug, Clone, Deserialize)]
pub struct OwnToken {
    #[serde(default, deserialize_with = "nullable")]
    pub policies: Vec<String>,
    #[serde(default)]
    pub ttl: Option<i64>,
}

/// `sys/health`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Health {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub sealed: Option<bool>,
}

/// KV v2 `metadata/<key>` (what is kept of it: never a value, the engine has none here).
#[derive(Debug, Clone, Deserialize)]
pub struct KvMetadata {
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// `sys/leases/lookup`.
#[derive(Debug, Clone, Deserialize)]
pub struct Lease {
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}
