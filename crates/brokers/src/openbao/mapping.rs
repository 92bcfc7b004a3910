//! What a walk read, mapped into the estate model — pure, offline, testable without a server.
//! The module documentation of [`super`] says what becomes what; `docs/brokers.md` says it for
//! reviewers.

use std::collections::{BTreeMap, BTreeSet};

use bridle_core::{
    Action, ActionSet, Credential, CredentialKind, Grant, Identity, IdentityKind, Resource,
    ResourceKind, Sensitivity,
};
use serde_json::{Map, Value, json};

use super::acl::{
    Acl, AliasFacts, EntityFacts, GroupFacts, KvOperation, TemplateScope, Verdict, actions_for,
};
use super::answers::{Entity, Group, Lease, Mount, RoleData, TokenLookup};
use super::policy::{self, Policy};
use crate::{Collected, Observation, UnknownPart};

/// Everything one walk read.
#[derive(Debug, Clone, Default)]
pub struct BrokerState {
    /// KV mount path (`secret/`) → its entry in `sys/mounts`.
    pub kv_mounts: BTreeMap<String, Mount>,
    pub kv_secrets: Vec<KvSecret>,
    /// Auth mount path (`approle/`) → its entry in `sys/auth`.
    pub auth_mounts: BTreeMap<String, Mount>,
    pub roles: Vec<Role>,
    /// Policy name → its text.
    pub policies: BTreeMap<String, PolicySource>,
    pub entities: Vec<Entity>,
    pub groups: Vec<Group>,
    pub tokens: Vec<Token>,
    pub leases: Vec<LeaseFacts>,
    pub unknowns: Vec<UnknownPart>,
}

#[derive(Debug, Clone)]
pub struct KvSecret {
    pub mount: String,
    pub version: u8,
    /// The key below the mount (`app/db`).
    pub key: String,
    /// KV v2 metadata (versions and times; a KV engine has no value here).
    pub metadata: Option<Map<String, Value>>,
}

impl KvSecret {
    /// The path the secret's resource is named by: its value's path.
    pub fn value_path(&self) -> String {
        if self.version == 2 {
            format!("{}data/{}", self.mount, self.key)
        } else {
            format!("{}{}", self.mount, self.key)
        }
    }

    /// Every policy path that acts on this secret, with what it does.
    pub fn paths(&self) -> Vec<(KvOperation, String)> {
        if self.version == 2 {
            KvOperation::v2_paths(&self.mount, &self.key).to_vec()
        } else {
            vec![(KvOperation::V1, self.value_path())]
        }
    }
}

#[derive(Debug, Clone)]
pub struct Role {
    /// The auth method's type (`approle`, `jwt`, …).
    pub kind: String,
    /// The auth mount (`approle/`).
    pub mount: String,
    pub name: String,
    /// The role's API path (`auth/approle/role/ci`).
    pub path: String,
    pub data: RoleData,
    /// An approle role's `role_id` (the name of its logins' entity aliases).
    pub role_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PolicySource {
    pub api_path: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub accessor: String,
    pub lookup: TokenLookup,
}

#[derive(Debug, Clone)]
pub struct LeaseFacts {
    pub lease_id: String,
    pub lease: Lease,
}

/// One holder of policies whose access is evaluated: a role, an entity, a group or a token.
struct Principal {
    id: String,
    /// In the order the server merges them.
    policies: Vec<String>,
    /// Where the policies come from, for the grants' conditions (`entity ml-agent: reader`).
    origins: Vec<String>,
    scope: Scope,
    /// A token principal's grants end when the token expires.
    expires_at: Option<bridle_core::time::Timestamp>,
    /// Why this principal can do nothing (a disabled entity), if so.
    refused: Option<String>,
}

/// [`TemplateScope`] with the entity owned.
enum Scope {
    NoEntity,
    Entity(Box<EntityFacts>),
    Unknown(String),
}

impl Scope {
    fn borrow(&self) -> TemplateScope<'_> {
        match self {
            Scope::NoEntity => TemplateScope::NoEntity,
            Scope::Entity(facts) => TemplateScope::Entity(facts),
            Scope::Unknown(_) => TemplateScope::Unknown,
        }
    }
}

/// Maps a walk into the estate model with ids `<prefix><path>` (`vault:<profile>:`).
pub fn map(state: BrokerState, prefix: &str, environment: Option<&str>) -> Collected {
    let mut mapping = Mapping {
        prefix: prefix.to_owned(),
        environment: environment.map(str::to_owned),
        out: Collected::default(),
        resources: BTreeMap::new(),
        identity_ids: BTreeSet::new(),
        policies: BTreeMap::new(),
        kv_versions: state
            .kv_mounts
            .iter()
            .map(|(path, mount)| (path.clone(), mount.kv_version()))
            .collect(),
    };
    mapping.out.unknowns = state.unknowns.clone();
    mapping.policies(&state);
    mapping.kv(&state);
    let mut principals = mapping.roles(&state);
    principals.extend(mapping.identity(&state));
    principals.extend(mapping.tokens(&state));
    mapping.leases(&state);
    mapping.grants(&state, principals);
    mapping.finish()
}

struct Mapping {
    prefix: String,
    environment: Option<String>,
    out: Collected,
    resources: BTreeMap<String, Resource>,
    identity_ids: BTreeSet<String>,
    policies: BTreeMap<String, Policy>,
    /// KV mount path → version.
    kv_versions: BTreeMap<String, u8>,
}

impl Mapping {
    fn id(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path.trim_start_matches('/'))
    }

    fn local<'a>(&self, id: &'a str) -> &'a str {
        id.strip_prefix(&self.prefix).unwrap_or(id)
    }

    fn unknown(&mut self, part: impl Into<String>, reason: impl Into<String>) {
        self.out.unknowns.push(UnknownPart {
            part: part.into(),
            reason: reason.into(),
        });
    }

    fn observe(&mut self, kind: &str, id: String, facts: BTreeMap<&str, Value>) {
        let facts: Map<String, Value> = facts
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        self.out.observations.push(Observation {
            kind: kind.to_owned(),
            id,
            facts,
        });
    }

    fn add_identity(&mut self, id: String, kind: IdentityKind, name: String) {
        if self.identity_ids.insert(id.clone()) {
            self.out.estate.identities.push(Identity {
                id,
                kind,
                name,
                owner: None,
                provider: Some("openbao".to_owned()),
            });
        }
    }

    fn secret_store(&self, id: &str, name: String) -> Resource {
        Resource {
            id: id.to_owned(),
            kind: ResourceKind::SecretStore,
            name,
            sensitivity: Sensitivity::Restricted,
            crown_jewel: false,
            environment: self.environment.clone(),
            holds_credentials: Vec::new(),
            runs_as: Vec::new(),
        }
    }

    fn policies(&mut self, state: &BrokerState) {
        for (name, source) in &state.policies {
            match policy::parse_policy(name, &source.text) {
                Ok(parsed) => {
                    let rules: Vec<String> = parsed
                        .rules
                        .iter()
                        .map(|r| format!("{}: {}", r.path, r.words.join(",")))
                        .collect();
                    let denies: Vec<&str> = parsed
                        .rules
                        .iter()
                        .filter(|r| r.capabilities.is_deny())
                        .map(|r| r.path.as_str())
                        .collect();
                    let templated: Vec<&str> = parsed
                        .rules
                        .iter()
                        .filter(|r| r.templated)
                        .map(|r| r.path.as_str())
                        .collect();
                    let mut facts =
                        BTreeMap::from([("rules", json!(rules)), ("deny", json!(denies))]);
                    if !templated.is_empty() {
                        facts.insert("templated", json!(templated));
                    }
                    self.observe("vault.policy", self.id(&source.api_path), facts);
                    self.policies.insert(name.clone(), parsed);
                }
                Err(error) => self.unknown(
                    format!("grants of ACL policy {name}"),
                    format!(
                        "/v1/{}: {error}; every principal holding it is evaluated without it",
                        source.api_path
                    ),
                ),
            }
        }
    }

    fn kv(&mut self, state: &BrokerState) {
        for (path, mount) in &state.kv_mounts {
            let version = mount.kv_version();
            let id = self.id(path);
            let resource = self.secret_store(&id, format!("KV v{version} mount {path}"));
            self.resources.insert(id.clone(), resource);
            self.observe(
                "vault.kv_mount",
                id,
                BTreeMap::from([
                    ("path", json!(path)),
                    ("version", json!(version)),
                    ("description", json!(mount.description)),
                ]),
            );
        }
        for secret in &state.kv_secrets {
            let id = self.id(&secret.value_path());
            let mut facts =
                BTreeMap::from([("mount", json!(secret.mount)), ("key", json!(secret.key))]);
            if let Some(metadata) = &secret.metadata {
                for field in [
                    "current_version",
                    "created_time",
                    "updated_time",
                    "max_versions",
                ] {
                    facts.insert(field, metadata.get(field).cloned().unwrap_or_default());
                }
            }
            self.observe("vault.kv_secret", id.clone(), facts);
            let resource = self.secret_store(&id, format!("secret {}{}", secret.mount, secret.key));
            self.resources.insert(id, resource);
        }
    }

    /// The entity facts templates and group policies are resolved with.
    fn entity_facts(&self, state: &BrokerState, entity: &Entity) -> EntityFacts {
        EntityFacts {
            id: entity.id.clone(),
            name: entity.name.clone(),
            metadata: entity.metadata.clone(),
            aliases: entity
                .aliases
                .iter()
                .map(|a| AliasFacts {
                    mount_accessor: a.mount_accessor.clone(),
                    id: a.id.clone(),
                    name: a.name.clone(),
                    metadata: a.metadata.clone(),
                    custom_metadata: a.custom_metadata.clone(),
                })
                .collect(),
            groups: groups_of_entity(state, entity)
                .into_iter()
                .map(|g| GroupFacts {
                    id: g.id.clone(),
                    name: g.name.clone(),
                    metadata: g.metadata.clone(),
                })
                .collect(),
        }
    }

    /// An entity's own and its groups' policies, each with where it comes from.
    fn identity_policies(state: &BrokerState, entity: &Entity) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = entity
            .policies
            .iter()
            .map(|p| (p.clone(), format!("entity {}", entity.name)))
            .collect();
        for group in groups_of_entity(state, entity) {
            out.extend(
                group
                    .policies
                    .iter()
                    .map(|p| (p.clone(), format!("group {}", group.name))),
            );
        }
        out
    }

    fn roles(&mut self, state: &BrokerState) -> Vec<Principal> {
        let mut principals = Vec::new();
        for role in &state.roles {
            let id = self.id(&role.path);
            let data = &role.data;
            let mut policies: Vec<String> = data.token_policies.clone();
            policies.extend(data.policies.iter().cloned());
            if role.kind == "token" {
                policies.extend(data.allowed_policies.iter().cloned());
            }
            if !data.token_no_default_policy && role.kind != "token" {
                policies.push("default".to_owned());
            }
            policies.sort();
            policies.dedup();
            let (identity_kind, label) = match role.kind.as_str() {
                "userpass" => (
                    IdentityKind::Human,
                    format!("user {} (auth/{})", role.name, role.mount),
                ),
                _ => (
                    IdentityKind::VaultRole,
                    format!("{} role {} (auth/{})", role.kind, role.name, role.mount),
                ),
            };
            self.add_identity(id.clone(), identity_kind, label);
            // The entity a login through this role gets, where it can be known before a login.
            let accessor = state
                .auth_mounts
                .get(&role.mount)
                .map(|m| m.accessor.as_str())
                .unwrap_or("");
            let entity = role.role_id.as_ref().and_then(|role_id| {
                state.entities.iter().find(|e| {
                    e.aliases
                        .iter()
                        .any(|a| a.mount_accessor == accessor && &a.name == role_id)
                })
            });
            let mut facts = BTreeMap::from([
                ("auth_type", json!(role.kind)),
                ("mount", json!(role.mount)),
                ("name", json!(role.name)),
                ("policies", json!(policies)),
            ]);
            for key in ROLE_FACTS {
                let value = data.settings.get(key).cloned().unwrap_or_default();
                let empty = matches!(&value, Value::Array(a) if a.is_empty())
                    || matches!(&value, Value::String(s) if s.is_empty());
                if !empty {
                    facts.insert(key, value);
                }
            }
            let mut origins = vec![format!("role: {}", policies.join(", "))];
            let scope = match entity {
                Some(entity) => {
                    let entity_policies = Self::identity_policies(state, entity);
                    facts.insert(
                        "entity",
                        json!(self.id(&format!("identity/entity/id/{}", entity.id))),
                    );
                    for (policy, origin) in &entity_policies {
                        origins.push(format!("{origin}: {policy}"));
                        policies.push(policy.clone());
                    }
                    Scope::Entity(Box::new(self.entity_facts(state, entity)))
                }
                None if role.kind == "token" => Scope::Unknown(
                    "a token created from this role may or may not have an entity".into(),
                ),
                None => Scope::Unknown(format!(
                    "the entity of a login through {} role {} is known only at login (its alias is named by the login's claims or role id)",
                    role.kind, role.name
                )),
            };
            self.observe("vault.role", id.clone(), facts);
            principals.push(Principal {
                id,
                policies,
                origins,
                scope,
                expires_at: None,
                refused: entity
                    .filter(|e| e.disabled)
                    .map(|e| format!("its entity {} is disabled", e.name)),
            });
        }
        principals
    }

    fn identity(&mut self, state: &BrokerState) -> Vec<Principal> {
        let mut principals = Vec::new();
        for entity in &state.entities {
            let id = self.id(&format!("identity/entity/id/{}", entity.id));
            let name = if entity.name.is_empty() {
                entity.id.clone()
            } else {
                entity.name.clone()
            };
            self.add_identity(
                id.clone(),
                IdentityKind::ServiceAccount,
                format!("entity {name}"),
            );
            let mut aliases = Vec::new();
            for alias in &entity.aliases {
                aliases.push(format!("{}{}", alias.mount_path, alias.name));
                self.observe(
                    "vault.alias",
                    self.id(&format!("identity/entity-alias/id/{}", alias.id)),
                    BTreeMap::from([
                        ("entity", json!(id)),
                        ("name", json!(alias.name)),
                        ("mount_path", json!(alias.mount_path)),
                        ("mount_type", json!(alias.mount_type)),
                        ("mount_accessor", json!(alias.mount_accessor)),
                    ]),
                );
            }
            aliases.sort();
            let groups: Vec<String> = groups_of_entity(state, entity)
                .iter()
                .map(|g| self.id(&format!("identity/group/id/{}", g.id)))
                .collect();
            self.observe(
                "vault.entity",
                id.clone(),
                BTreeMap::from([
                    ("name", json!(name)),
                    ("disabled", json!(entity.disabled)),
                    ("policies", json!(entity.policies)),
                    ("aliases", json!(aliases)),
                    ("group_ids", json!(entity.group_ids)),
                    ("groups", json!(groups)),
                ]),
            );
            let from_identity = Self::identity_policies(state, entity);
            principals.push(Principal {
                id,
                policies: from_identity.iter().map(|(p, _)| p.clone()).collect(),
                origins: from_identity
                    .iter()
                    .map(|(p, origin)| format!("{origin}: {p}"))
                    .collect(),
                scope: Scope::Entity(Box::new(self.entity_facts(state, entity))),
                expires_at: None,
                refused: entity.disabled.then(|| "the entity is disabled".to_owned()),
            });
        }
        for group in &state.groups {
            let id = self.id(&format!("identity/group/id/{}", group.id));
            let name = if group.name.is_empty() {
                group.id.clone()
            } else {
                group.name.clone()
            };
            self.add_identity(id.clone(), IdentityKind::VaultRole, format!("group {name}"));
            let ancestors = ancestors(state, group);
            self.observe(
                "vault.group",
                id.clone(),
                BTreeMap::from([
                    ("name", json!(name)),
                    ("type", json!(group.kind)),
                    ("policies", json!(group.policies)),
                    ("member_entity_ids", json!(group.member_entity_ids)),
                    ("member_group_ids", json!(group.member_group_ids)),
                    (
                        "inherits_from",
                        json!(
                            ancestors
                                .iter()
                                .map(|g| self.id(&format!("identity/group/id/{}", g.id)))
                                .collect::<Vec<_>>()
                        ),
                    ),
                ]),
            );
            let mut policies: Vec<(String, String)> = group
                .policies
                .iter()
                .map(|p| (p.clone(), format!("group {name}")))
                .collect();
            for parent in ancestors {
                policies.extend(
                    parent
                        .policies
                        .iter()
                        .map(|p| (p.clone(), format!("parent group {}", parent.name))),
                );
            }
            principals.push(Principal {
                id,
                policies: policies.iter().map(|(p, _)| p.clone()).collect(),
                origins: policies
                    .iter()
                    .map(|(p, origin)| format!("{origin}: {p}"))
                    .collect(),
                scope: Scope::Unknown("templated paths resolve per member entity".to_owned()),
                expires_at: None,
                refused: None,
            });
        }
        principals
    }

    fn tokens(&mut self, state: &BrokerState) -> Vec<Principal> {
        let mut principals = Vec::new();
        for token in &state.tokens {
            let lookup = &token.lookup;
            let accessor = &token.accessor;
            let credential_id = self.id(&format!("auth/token/accessors/{accessor}"));
            let principal_id = self.id(&format!("token/{accessor}"));
            let display = if lookup.display_name.is_empty() {
                "token".to_owned()
            } else {
                lookup.display_name.clone()
            };
            let issued_at = lookup
                .creation_time
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
            let expires_at = lookup
                .expire_time
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            let mut listed = lookup.policies.clone();
            listed.extend(lookup.identity_policies.iter().cloned());
            listed.sort();
            listed.dedup();
            self.add_identity(
                principal_id.clone(),
                IdentityKind::ApiKeyPrincipal,
                format!("token {display} ({accessor})"),
            );
            self.out.estate.credentials.push(Credential {
                id: credential_id.clone(),
                identity: principal_id.clone(),
                kind: CredentialKind::Token,
                issued_at,
                expires_at,
                last_rotated: None,
                last_used: None,
                fingerprint: None,
            });
            let entity = (!lookup.entity_id.is_empty())
                .then(|| state.entities.iter().find(|e| e.id == lookup.entity_id))
                .flatten();
            let mut facts = BTreeMap::from([
                ("accessor", json!(accessor)),
                ("display_name", json!(display)),
                ("policies", json!(listed)),
            ]);
            for key in TOKEN_FACTS {
                facts.insert(key, lookup.details.get(key).cloned().unwrap_or_default());
            }
            facts.insert("creation_time", json!(lookup.creation_time));
            facts.insert("expire_time", json!(lookup.expire_time));
            facts.insert("entity_id", json!(lookup.entity_id));
            if let Some(entity) = entity {
                facts.insert(
                    "entity",
                    json!(self.id(&format!("identity/entity/id/{}", entity.id))),
                );
            }
            self.observe("vault.token", credential_id, facts);
            let mut origins = vec![format!("token: {}", lookup.policies.join(", "))];
            if !lookup.identity_policies.is_empty() {
                origins.push(format!("identity: {}", lookup.identity_policies.join(", ")));
            }
            // The server merges token and identity policies into one ACL.
            let mut policies = lookup.policies.clone();
            policies.extend(lookup.identity_policies.iter().cloned());
            let scope = match (lookup.entity_id.is_empty(), entity) {
                (true, _) => Scope::NoEntity,
                (false, Some(entity)) => Scope::Entity(Box::new(self.entity_facts(state, entity))),
                (false, None) => {
                    Scope::Unknown(format!("its entity {} could not be read", lookup.entity_id))
                }
            };
            principals.push(Principal {
                id: principal_id,
                policies,
                origins,
                scope,
                expires_at,
                refused: entity
                    .filter(|e| e.disabled)
                    .map(|e| format!("its entity {} is disabled", e.name)),
            });
        }
        principals
    }

    fn leases(&mut self, state: &BrokerState) {
        for lease in &state.leases {
            let mut facts = BTreeMap::from([("lease_id", json!(lease.lease_id))]);
            for key in ["issue_time", "expire_time", "renewable", "last_renewal"] {
                facts.insert(
                    key,
                    lease.lease.fields.get(key).cloned().unwrap_or_default(),
                );
            }
            self.observe(
                "vault.lease",
                self.id(&format!("sys/leases/lookup/{}", lease.lease_id)),
                facts,
            );
        }
    }

    /// The KV operation a policy path names, if it lies in a KV engine: `Some(None)` inside a
    /// KV mount where the path does not say which operation (a glob over the mount).
    fn kv_operation(&self, path: &str) -> Option<Option<KvOperation>> {
        let (mount, version) = self
            .kv_versions
            .iter()
            .find(|(mount, _)| path.starts_with(mount.as_str()))?;
        if *version == 1 {
            return Some(Some(KvOperation::V1));
        }
        Some(KvOperation::of_v2_rest(&path[mount.len()..]))
    }

    /// The resource standing for a policy path (created on first use).
    fn path_resource(&mut self, path: &str, pattern: bool) -> String {
        let mut id = self.id(path);
        // A rule may name the API path of something that is an identity or a credential here
        // (`default` grants `identity/entity/id/{{identity.entity.id}}`): the path is then a
        // resource of its own, under `acl-path/`.
        let taken = self.identity_ids.contains(&id)
            || self.out.estate.credentials.iter().any(|c| c.id == id);
        if taken {
            id = self.id(&format!("acl-path/{path}"));
        }
        if !self.resources.contains_key(&id) {
            let under_kv = self.kv_operation(path).is_some();
            let control_plane = ["sys/", "auth/", "identity/"]
                .iter()
                .any(|p| path.starts_with(p));
            let kind = if under_kv {
                ResourceKind::SecretStore
            } else {
                ResourceKind::Api
            };
            let sensitivity = if under_kv || control_plane || path == "*" {
                Sensitivity::Restricted
            } else {
                Sensitivity::Internal
            };
            let what = if pattern { "path pattern" } else { "path" };
            self.resources.insert(
                id.clone(),
                Resource {
                    id: id.clone(),
                    kind,
                    name: format!("{what} {path}"),
                    sensitivity,
                    crown_jewel: path == "*",
                    environment: self.environment.clone(),
                    holds_credentials: Vec::new(),
                    runs_as: Vec::new(),
                },
            );
        }
        id
    }

    /// The actions capabilities grant on a policy path (KV-aware; see [`actions_for`]).
    fn path_actions(&self, path: &str, capabilities: super::acl::Capabilities) -> ActionSet {
        match self.kv_operation(path) {
            // Inside a KV engine without a named operation: a glob over data and metadata
            // alike, so reading may read values.
            Some(None) => actions_for(capabilities, Some(KvOperation::V1)),
            Some(operation) => actions_for(capabilities, operation),
            None => actions_for(capabilities, None),
        }
    }

    /// Grants from every principal's merged ACL (see the module documentation of [`super`]).
    fn grants(&mut self, state: &BrokerState, principals: Vec<Principal>) {
        let mut merged: BTreeMap<(String, String), Grant> = BTreeMap::new();
        let parsed = std::mem::take(&mut self.policies);
        for principal in &principals {
            let subject_local = self.local(&principal.id).to_owned();
            if let Some(reason) = &principal.refused {
                self.observe(
                    "vault.denied",
                    self.id(&format!("denied/{subject_local}")),
                    BTreeMap::from([
                        ("subject", json!(principal.id)),
                        ("path", json!("*")),
                        ("denied_by", json!(reason)),
                    ]),
                );
                continue;
            }
            let mut held: Vec<&Policy> = Vec::new();
            let mut missing: Vec<&str> = Vec::new();
            let mut seen = BTreeSet::new();
            let mut root = false;
            for name in &principal.policies {
                if !seen.insert(name.as_str()) {
                    continue;
                }
                match parsed.get(name) {
                    Some(p) => held.push(p),
                    None if name == "root" => root = true,
                    None => missing.push(name),
                }
            }
            if !missing.is_empty() {
                let unparsed: Vec<&str> = missing
                    .iter()
                    .copied()
                    .filter(|m| state.policies.contains_key(*m))
                    .collect();
                let absent: Vec<&str> = missing
                    .iter()
                    .copied()
                    .filter(|m| !state.policies.contains_key(*m))
                    .collect();
                let mut reasons = Vec::new();
                if !unparsed.is_empty() {
                    reasons.push(format!(
                        "policies {} could not be understood (see their own unknown parts)",
                        unparsed.join(", ")
                    ));
                }
                if !absent.is_empty() {
                    reasons.push(format!(
                        "policies {} could not be read or do not exist (the server ignores a policy that does not exist)",
                        absent.join(", ")
                    ));
                }
                self.unknown(format!("grants of {}", principal.id), reasons.join("; "));
            }
            if root {
                let target = self.path_resource("*", true);
                add_grant(
                    &mut merged,
                    Grant {
                        id: grant_id(&self.prefix, &subject_local, "root", "*"),
                        subject: principal.id.clone(),
                        target,
                        actions: ActionSet::from_iter([Action::Read, Action::Write, Action::Admin]),
                        standing: true,
                        expires_at: principal.expires_at,
                        conditions: Some("root policy: every path, every capability".into()),
                        source: Some(self.id("sys/policies/acl/root")),
                    },
                );
                continue;
            }
            let acl = Acl::new(held.iter().copied(), principal.scope.borrow());
            let origins = format!(
                "policies of this principal: {}",
                principal.origins.join("; ")
            );
            let unresolved_note = match &principal.scope {
                Scope::Unknown(why) if !acl.unresolved().is_empty() => Some(format!(
                    "templated rules {} are not resolved ({why}): they may add or narrow access",
                    acl.unresolved()
                        .iter()
                        .map(|r| format!("`{}` (policy {})", r.path, r.policy))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => None,
            };
            let denies: Vec<(String, String)> = acl
                .rules()
                .filter(|r| r.capabilities.is_deny())
                .map(|r| (r.path.clone(), r.policies.join(", ")))
                .collect();
            // One grant per allowing merged rule, on the rule's path.
            for rule in acl.rules() {
                if rule.capabilities.is_deny() {
                    continue;
                }
                let actions = self.path_actions(&rule.path, rule.capabilities);
                if actions.is_empty() {
                    continue;
                }
                let mut conditions = vec![if rule.is_pattern() {
                    format!(
                        "over-approximation: {} is a pattern standing for every matching path ({})",
                        rule.provenance(),
                        rule.capabilities
                    )
                } else {
                    format!("{} ({})", rule.provenance(), rule.capabilities)
                }];
                for (deny, by) in &denies {
                    if rule.is_pattern() && policy::may_overlap(deny, &rule.path) {
                        conditions.push(format!("except `{deny}` (deny in policy {by})"));
                    }
                }
                if rule.is_pattern() {
                    conditions.push("more specific rules decide the paths they match".into());
                }
                if rule.parameter_constraints {
                    conditions.push("narrowed by parameter constraints".into());
                }
                conditions.push(origins.clone());
                let target = self.path_resource(&rule.path, rule.is_pattern());
                let source = self.id(&format!("sys/policies/acl/{}", rule.policies[0]));
                add_grant(
                    &mut merged,
                    Grant {
                        id: grant_id(&self.prefix, &subject_local, "rule", &rule.path),
                        subject: principal.id.clone(),
                        target,
                        actions,
                        standing: true,
                        expires_at: earliest(principal.expires_at, rule.expiration.as_deref()),
                        conditions: Some(conditions.join("; ")),
                        source: Some(source),
                    },
                );
            }
            // Templated rules nobody can resolve yet: grants on the template, marked.
            for rule in acl.unresolved() {
                let actions = self.path_actions(&rule.path, rule.capabilities);
                if actions.is_empty() || rule.capabilities.is_deny() {
                    continue;
                }
                let target = self.path_resource(&rule.path, true);
                let why = match &principal.scope {
                    Scope::Unknown(why) => why.clone(),
                    _ => String::new(),
                };
                add_grant(
                    &mut merged,
                    Grant {
                        id: grant_id(&self.prefix, &subject_local, "template", &rule.path),
                        subject: principal.id.clone(),
                        target,
                        actions,
                        standing: true,
                        expires_at: principal.expires_at,
                        conditions: Some(format!(
                            "over-approximation: templated rule `{}` of policy {} ({}) stands for every path its identity templates can produce ({why}); {origins}",
                            rule.path, rule.policy, rule.capabilities
                        )),
                        source: Some(self.id(&format!("sys/policies/acl/{}", rule.policy))),
                    },
                );
            }
            // Every KV secret found, decided exactly as the server decides it.
            for secret in &state.kv_secrets {
                self.secret_access(
                    &mut merged,
                    principal,
                    &subject_local,
                    &acl,
                    secret,
                    unresolved_note.as_deref(),
                    &origins,
                );
            }
        }
        self.out.estate.grants.extend(merged.into_values());
    }

    #[allow(clippy::too_many_arguments)]
    fn secret_access(
        &mut self,
        merged: &mut BTreeMap<(String, String), Grant>,
        principal: &Principal,
        subject_local: &str,
        acl: &Acl,
        secret: &KvSecret,
        unresolved_note: Option<&str>,
        origins: &str,
    ) {
        let value_path = secret.value_path();
        let target = self.id(&value_path);
        let mut capabilities = Map::new();
        let mut rules = Map::new();
        let mut actions = ActionSet::default();
        let mut described = Vec::new();
        let mut expiration: Option<String> = None;
        for (operation, path) in secret.paths() {
            let verdict = acl.decide(&path);
            if let Verdict::Rule(rule) = verdict {
                if rule.capabilities.is_deny() {
                    let shadows = acl
                        .rules()
                        .any(|r| !r.capabilities.is_deny() && r.matches(&path));
                    if shadows && matches!(operation, KvOperation::Data | KvOperation::V1) {
                        self.observe(
                            "vault.denied",
                            self.id(&format!("denied/{subject_local}/{path}")),
                            BTreeMap::from([
                                ("subject", json!(principal.id)),
                                ("path", json!(path)),
                                (
                                    "denied_by",
                                    json!(format!("{}: {}", rule.policies.join(", "), rule.path)),
                                ),
                            ]),
                        );
                    }
                    continue;
                }
                if !verdict.allows_anything() {
                    continue;
                }
                capabilities.insert(path.clone(), json!(verdict.answer()));
                rules.insert(path.clone(), json!(rule.provenance()));
                let granted = actions_for(rule.capabilities, Some(operation));
                if !granted.is_empty() {
                    described.push(format!(
                        "{path}: {} by {}",
                        rule.capabilities,
                        rule.provenance()
                    ));
                    if let Some(at) = &rule.expiration
                        && expiration.as_ref().is_none_or(|e| at < e)
                    {
                        expiration = Some(at.clone());
                    }
                }
                actions = actions.union(granted);
            }
        }
        if capabilities.is_empty() {
            return;
        }
        self.observe(
            "vault.access",
            self.id(&format!("access/{subject_local}/{value_path}")),
            BTreeMap::from([
                ("subject", json!(principal.id)),
                ("secret", json!(target)),
                ("capabilities", Value::Object(capabilities)),
                ("rules", Value::Object(rules)),
            ]),
        );
        if actions.is_empty() {
            return;
        }
        let mut conditions = vec![format!(
            "evaluated for this secret as the server does: {}",
            described.join("; ")
        )];
        if let Some(note) = unresolved_note {
            conditions.push(note.to_owned());
        }
        conditions.push(origins.to_owned());
        let source = acl
            .decide(&value_path)
            .rule()
            .map(|r| self.id(&format!("sys/policies/acl/{}", r.policies[0])));
        add_grant(
            merged,
            Grant {
                id: grant_id(&self.prefix, subject_local, "rule", &value_path),
                subject: principal.id.clone(),
                target,
                actions,
                standing: true,
                expires_at: earliest(principal.expires_at, expiration.as_deref()),
                conditions: Some(conditions.join("; ")),
                source,
            },
        );
    }

    fn finish(mut self) -> Collected {
        self.out
            .estate
            .resources
            .extend(std::mem::take(&mut self.resources).into_values());
        self.out.estate.sort();
        self.out
            .observations
            .sort_by(|a, b| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)));
        self.out
            .observations
            .dedup_by(|a, b| a.kind == b.kind && a.id == b.id);
        self.out.unknowns.dedup();
        self.out
    }
}

/// Role settings kept in the role's observation.
const ROLE_FACTS: [&str; 29] = [
    "token_ttl",
    "token_max_ttl",
    "token_explicit_max_ttl",
    "token_period",
    "token_type",
    "token_num_uses",
    "token_bound_cidrs",
    "secret_id_ttl",
    "secret_id_num_uses",
    "bind_secret_id",
    "secret_id_bound_cidrs",
    "role_type",
    "bound_audiences",
    "bound_subject",
    "bound_claims",
    "bound_claims_type",
    "claim_mappings",
    "user_claim",
    "groups_claim",
    "allowed_redirect_uris",
    "bound_service_account_names",
    "bound_service_account_namespaces",
    "audience",
    "orphan",
    "renewable",
    "allowed_policies",
    "disallowed_policies",
    "explicit_max_ttl",
    "period",
];

/// Token lookup details kept in the token's observation.
const TOKEN_FACTS: [&str; 9] = [
    "creation_ttl",
    "explicit_max_ttl",
    "orphan",
    "path",
    "type",
    "renewable",
    "role",
    "num_uses",
    "period",
];

/// The groups an entity is in, directly or through parent groups, each once, in a stable order.
fn groups_of_entity<'a>(state: &'a BrokerState, entity: &Entity) -> Vec<&'a Group> {
    let mut out: Vec<&Group> = Vec::new();
    let mut seen = BTreeSet::new();
    let direct = state
        .groups
        .iter()
        .filter(|g| g.member_entity_ids.contains(&entity.id) || entity.group_ids.contains(&g.id));
    for group in direct {
        if seen.insert(group.id.as_str()) {
            out.push(group);
        }
    }
    let mut i = 0;
    while i < out.len() {
        let child = out[i].id.clone();
        for parent in state
            .groups
            .iter()
            .filter(|g| g.member_group_ids.contains(&child))
        {
            if seen.insert(parent.id.as_str()) {
                out.push(parent);
            }
        }
        i += 1;
    }
    out
}

/// The groups a group inherits policies from (those it is a member of, transitively).
fn ancestors<'a>(state: &'a BrokerState, group: &Group) -> Vec<&'a Group> {
    let mut out: Vec<&Group> = Vec::new();
    let mut seen = BTreeSet::from([group.id.as_str()]);
    let mut pending = vec![group.id.clone()];
    while let Some(child) = pending.pop() {
        for parent in state
            .groups
            .iter()
            .filter(|g| g.member_group_ids.contains(&child))
        {
            if seen.insert(parent.id.as_str()) {
                out.push(parent);
                pending.push(parent.id.clone());
            }
        }
    }
    out
}

/// The earlier of a principal's expiry and a rule's `expiration` (RFC 3339), if any.
fn earliest(
    principal: Option<bridle_core::time::Timestamp>,
    rule: Option<&str>,
) -> Option<bridle_core::time::Timestamp> {
    let rule = rule
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    match (principal, rule) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Adds a grant, merging it into one already there for the same subject and target.
fn add_grant(merged: &mut BTreeMap<(String, String), Grant>, grant: Grant) {
    let key = (grant.subject.clone(), grant.target.clone());
    match merged.get_mut(&key) {
        Some(existing) => {
            existing.actions = existing.actions.union(grant.actions);
            if let Some(more) = grant.conditions {
                let joined = match existing.conditions.take() {
                    Some(c) if c.contains(&more) => c,
                    Some(c) => format!("{c}; {more}"),
                    None => more,
                };
                existing.conditions = Some(joined);
            }
        }
        None => {
            merged.insert(key, grant);
        }
    }
}

/// A readable, stable grant id; hashed when it would exceed the id limit.
fn grant_id(prefix: &str, subject_local: &str, kind: &str, path: &str) -> String {
    let id = format!("{prefix}grant/{subject_local}/{kind}/{path}");
    if id.len() <= bridle_core::estate::MAX_ID_BYTES {
        return id;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}grant/{hex}")
}
