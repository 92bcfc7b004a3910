//! OpenBao / HashiCorp Vault (one HTTP API): auth mounts and their roles, ACL policies as grants,
//! KV mounts and secret paths as secret stores, identity entities and groups, token accessors and
//! leases — mapped into the estate model with ids and grant sources `vault:<profile>:<path>`.
//!
//! Mapping (what a reviewer needs to know):
//! - a role of an auth method (`auth/<mount>/role/<name>`, token roles `auth/token/roles/<name>`),
//!   an identity group → identity `vault_role`; an identity entity → `service_account`; a token
//!   (by accessor) → credential `token` held by its own principal (`api_key_principal`) that
//!   carries the token's policies, and `assume`s its entity when it has one;
//! - every rule of a principal's policies → a grant to the rule's path as a resource (secret
//!   store under a KV mount, `api` elsewhere). A rule whose path is a pattern (`*`, `+`) becomes
//!   one grant on the pattern, marked `over-approximation` in its conditions. A `deny` rule
//!   removes a grant it covers (recorded as a `vault.denied` observation) and is named in the
//!   conditions of every grant it overlaps;
//! - every KV secret path found (metadata only, never a value) → a secret-store resource, and
//!   each principal's access to it evaluated exactly as Vault does (per policy the most specific
//!   rule, united across policies, deny wins);
//! - what the model has no field for (role TTLs, bound claims, token accessors, leases, aliases)
//!   → observations. Parts the token may not read → unknown parts with the server's reason.

mod client;
pub mod policy;

use std::collections::{BTreeMap, BTreeSet};

use bridle_core::{
    Action, ActionSet, Credential, CredentialKind, Grant, Identity, IdentityKind, Resource,
    ResourceKind, Sensitivity,
};
use serde_json::{Map, Value, json};

use crate::{BrokerError, Collected, Observation, Profile, UnknownPart};
use client::{Answer, Client};
use policy::{PathPattern, Policy};

/// At most this many KV secret paths, token accessors and leases are read per sync; beyond it
/// the part is recorded as unknown (truncated), never silently cut.
const MAX_ITEMS: usize = 2_000;

/// What `broker test` shows: the server answered and the token is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub version: Option<String>,
    pub sealed: Option<bool>,
    /// The syncing token's policies (never the token).
    pub token_policies: Vec<String>,
    pub token_ttl_seconds: Option<i64>,
}

/// Checks the address, the server's health and the token (`auth/token/lookup-self`).
pub async fn test_connection(profile: &Profile) -> Result<ConnectionInfo, BrokerError> {
    let client = Client::new(profile)?;
    let health = match client.read("sys/health").await? {
        Answer::Data(v) => v,
        _ => Value::Null,
    };
    let own = lookup_self(&client).await?;
    Ok(ConnectionInfo {
        version: health
            .get("version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        sealed: health.get("sealed").and_then(Value::as_bool),
        token_policies: strings(own.get("policies")),
        token_ttl_seconds: own.get("ttl").and_then(Value::as_i64),
    })
}

/// Revokes the token with this accessor (`auth/token/revoke-accessor`); returns the broker's
/// answer as text for the audit log.
pub async fn revoke_accessor(profile: &Profile, accessor: &str) -> Result<String, BrokerError> {
    let client = Client::new(profile)?;
    let path = "auth/token/revoke-accessor";
    revoke(&client, path, &json!({ "accessor": accessor })).await
}

/// Revokes a lease (`sys/leases/revoke`).
pub async fn revoke_lease(profile: &Profile, lease_id: &str) -> Result<String, BrokerError> {
    let client = Client::new(profile)?;
    revoke(
        &client,
        "sys/leases/revoke",
        &json!({ "lease_id": lease_id }),
    )
    .await
}

async fn revoke(client: &Client, path: &str, body: &Value) -> Result<String, BrokerError> {
    match client.write(path, body).await? {
        Answer::Data(Value::Null) => Ok(format!("{path}: revoked (204 No Content)")),
        Answer::Data(v) => {
            // OpenBao answers 200 with a warning when there was nothing to revoke.
            let warnings = strings(v.get("warnings"));
            let nothing = warnings
                .iter()
                .any(|w| w.to_ascii_lowercase().contains("no token found"));
            if nothing {
                return Err(BrokerError::Status {
                    address: client.address().to_owned(),
                    path: format!("/v1/{path}"),
                    status: 200,
                    message: format!("nothing was revoked: {}", warnings.join("; ")),
                });
            }
            if warnings.is_empty() {
                Ok(format!("{path}: revoked"))
            } else {
                Ok(format!(
                    "{path}: revoked (warnings: {})",
                    warnings.join("; ")
                ))
            }
        }
        Answer::Missing => Err(BrokerError::Status {
            address: client.address().to_owned(),
            path: format!("/v1/{path}"),
            status: 404,
            message: "not found".into(),
        }),
        Answer::Forbidden(message) => Err(forbidden(client, path, message)),
    }
}

fn forbidden(client: &Client, path: &str, message: String) -> BrokerError {
    BrokerError::Status {
        address: client.address().to_owned(),
        path: format!("/v1/{path}"),
        status: 403,
        message,
    }
}

async fn lookup_self(client: &Client) -> Result<Value, BrokerError> {
    let path = "auth/token/lookup-self";
    match client.read(path).await? {
        Answer::Data(v) => v
            .get("data")
            .cloned()
            .filter(Value::is_object)
            .ok_or_else(|| client.malformed(path, "no `data` object")),
        Answer::Forbidden(message) => Err(forbidden(client, path, message)),
        Answer::Missing => Err(client.malformed(path, "404: is this an OpenBao/Vault server?")),
    }
}

/// Reads the whole broker. Transport failures, timeouts, 5xx and malformed answers fail the
/// sync; a part the token may not read (403) becomes an [`UnknownPart`].
pub async fn collect(profile: &Profile) -> Result<Collected, BrokerError> {
    let client = Client::new(profile)?;
    // The token must be valid at all: a 403 here fails the sync.
    lookup_self(&client).await?;
    let mut collector = Collector {
        client,
        prefix: format!("vault:{}:", profile.name),
        environment: profile.setting("environment").map(str::to_owned),
        out: Collected::default(),
        kv_mounts: BTreeMap::new(),
        policies: BTreeMap::new(),
        principals: Vec::new(),
        resources: BTreeMap::new(),
        kv_secrets: Vec::new(),
        identity_ids: BTreeSet::new(),
    };
    collector.secret_engines().await?;
    collector.auth_methods().await?;
    collector.policies().await?;
    collector.identity().await?;
    collector.tokens().await?;
    collector.leases().await?;
    collector.grants();
    Ok(collector.finish())
}

/// One holder of policies: a role, an entity, a group or a token's principal.
struct Principal {
    id: String,
    policies: Vec<String>,
    /// A token principal's grants end when the token expires.
    expires_at: Option<bridle_core::time::Timestamp>,
}

struct Collector {
    client: Client,
    /// `vault:<profile>:`
    prefix: String,
    environment: Option<String>,
    out: Collected,
    /// KV mount path (`secret/`) → version.
    kv_mounts: BTreeMap<String, u8>,
    policies: BTreeMap<String, Policy>,
    principals: Vec<Principal>,
    resources: BTreeMap<String, Resource>,
    /// KV secret paths in policy form (`secret/data/app/db` for v2).
    kv_secrets: Vec<String>,
    identity_ids: BTreeSet<String>,
}

impl Collector {
    fn id(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path.trim_start_matches('/'))
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

    /// Reads `path`; a 403 records `part` as unknown and answers `None`, a 404 answers `Some(Null)`.
    async fn read_part(&mut self, part: &str, path: &str) -> Result<Option<Value>, BrokerError> {
        match self.client.read(path).await? {
            Answer::Data(v) => Ok(Some(v)),
            Answer::Missing => Ok(Some(Value::Null)),
            Answer::Forbidden(message) => {
                self.unknown(part, format!("403 on /v1/{path}: {message}"));
                Ok(None)
            }
        }
    }

    async fn list_part(
        &mut self,
        part: &str,
        path: &str,
    ) -> Result<Option<Vec<String>>, BrokerError> {
        match self.client.list(path).await? {
            Ok(keys) => Ok(Some(keys)),
            Err(message) => {
                self.unknown(part, format!("403 on LIST /v1/{path}: {message}"));
                Ok(None)
            }
        }
    }

    fn data_object(&self, path: &str, body: &Value) -> Result<Map<String, Value>, BrokerError> {
        body.get("data")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| self.client.malformed(path, "no `data` object"))
    }

    async fn secret_engines(&mut self) -> Result<(), BrokerError> {
        let Some(body) = self.read_part("secret engines", "sys/mounts").await? else {
            return Ok(());
        };
        let mounts = self.data_object("sys/mounts", &body)?;
        for (mount, info) in mounts {
            if info.get("type").and_then(Value::as_str) != Some("kv") {
                continue;
            }
            let version = match info.pointer("/options/version").and_then(Value::as_str) {
                Some("2") => 2,
                _ => 1,
            };
            self.kv_mounts.insert(mount.clone(), version);
            let id = self.id(&mount);
            self.resources.insert(
                id.clone(),
                Resource {
                    id: id.clone(),
                    kind: ResourceKind::SecretStore,
                    name: format!("KV v{version} mount {mount}"),
                    sensitivity: Sensitivity::Restricted,
                    crown_jewel: false,
                    environment: self.environment.clone(),
                    holds_credentials: Vec::new(),
                    runs_as: Vec::new(),
                },
            );
            self.observe(
                "vault.kv_mount",
                id,
                BTreeMap::from([
                    ("path", json!(mount)),
                    ("version", json!(version)),
                    (
                        "description",
                        info.get("description").cloned().unwrap_or_default(),
                    ),
                ]),
            );
            self.kv_keys(&mount, version).await?;
        }
        Ok(())
    }

    /// Walks a KV mount's key tree (metadata only, never a value).
    async fn kv_keys(&mut self, mount: &str, version: u8) -> Result<(), BrokerError> {
        let list_root = if version == 2 {
            format!("{mount}metadata/")
        } else {
            mount.to_owned()
        };
        let mut pending = vec![String::new()];
        while let Some(folder) = pending.pop() {
            let part = format!("KV secrets under {mount}{folder}");
            let Some(keys) = self
                .list_part(&part, &format!("{list_root}{folder}"))
                .await?
            else {
                continue;
            };
            for key in keys {
                let relative = format!("{folder}{key}");
                if key.ends_with('/') {
                    pending.push(relative);
                    continue;
                }
                if self.kv_secrets.len() >= MAX_ITEMS {
                    self.unknown(
                        format!("KV secrets of {mount}"),
                        format!("more than {MAX_ITEMS} secret paths; the rest were not read"),
                    );
                    return Ok(());
                }
                let policy_path = if version == 2 {
                    format!("{mount}data/{relative}")
                } else {
                    format!("{mount}{relative}")
                };
                let id = self.id(&policy_path);
                let mut facts = BTreeMap::from([("mount", json!(mount)), ("key", json!(relative))]);
                if version == 2 {
                    let metadata_path = format!("{mount}metadata/{relative}");
                    if let Some(Value::Object(body)) = self
                        .read_part(&format!("KV metadata of {mount}{relative}"), &metadata_path)
                        .await?
                        .map(|b| b.get("data").cloned().unwrap_or_default())
                    {
                        for field in [
                            "current_version",
                            "created_time",
                            "updated_time",
                            "max_versions",
                        ] {
                            facts.insert(field, body.get(field).cloned().unwrap_or_default());
                        }
                    }
                }
                self.observe("vault.kv_secret", id.clone(), facts);
                self.resources.insert(
                    id.clone(),
                    Resource {
                        id,
                        kind: ResourceKind::SecretStore,
                        name: format!("secret {mount}{relative}"),
                        sensitivity: Sensitivity::Restricted,
                        crown_jewel: false,
                        environment: self.environment.clone(),
                        holds_credentials: Vec::new(),
                        runs_as: Vec::new(),
                    },
                );
                self.kv_secrets.push(policy_path);
            }
        }
        Ok(())
    }

    async fn auth_methods(&mut self) -> Result<(), BrokerError> {
        let Some(body) = self.read_part("auth methods", "sys/auth").await? else {
            return Ok(());
        };
        let mounts = self.data_object("sys/auth", &body)?;
        for (mount, info) in mounts {
            let kind = info
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            self.observe(
                "vault.auth_mount",
                self.id(&format!("sys/auth/{mount}")),
                BTreeMap::from([
                    ("path", json!(mount)),
                    ("type", json!(kind)),
                    (
                        "accessor",
                        info.get("accessor").cloned().unwrap_or_default(),
                    ),
                ]),
            );
            let roles_path = match kind.as_str() {
                "approle" | "jwt" | "oidc" | "kubernetes" => format!("auth/{mount}role"),
                "token" => "auth/token/roles".to_owned(),
                "userpass" => format!("auth/{mount}users"),
                _ => continue,
            };
            let part = format!("roles of auth/{mount} ({kind})");
            let Some(names) = self.list_part(&part, &roles_path).await? else {
                continue;
            };
            for name in names {
                let path = format!("{roles_path}/{name}");
                let Some(body) = self.read_part(&part, &path).await? else {
                    continue;
                };
                if body.is_null() {
                    continue;
                }
                let data = self.data_object(&path, &body)?;
                self.role(&kind, &mount, &name, &path, &data);
            }
        }
        Ok(())
    }

    fn role(&mut self, kind: &str, mount: &str, name: &str, path: &str, data: &Map<String, Value>) {
        let id = self.id(path);
        let field = |key: &str| data.get(key).cloned().unwrap_or_default();
        let mut policies = strings(data.get("token_policies"));
        policies.extend(strings(data.get("policies")));
        if kind == "token" {
            policies.extend(strings(data.get("allowed_policies")));
        }
        let no_default = data
            .get("token_no_default_policy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !no_default && kind != "token" {
            policies.push("default".to_owned());
        }
        policies.sort();
        policies.dedup();
        let (identity_kind, label) = match kind {
            "userpass" => (IdentityKind::Human, format!("user {name} (auth/{mount})")),
            _ => (
                IdentityKind::VaultRole,
                format!("{kind} role {name} (auth/{mount})"),
            ),
        };
        self.add_identity(id.clone(), identity_kind, label);
        let mut facts = BTreeMap::from([
            ("auth_type", json!(kind)),
            ("mount", json!(mount)),
            ("name", json!(name)),
            ("policies", json!(policies)),
        ]);
        for key in [
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
        ] {
            let value = field(key);
            let empty = matches!(&value, Value::Array(a) if a.is_empty())
                || matches!(&value, Value::String(s) if s.is_empty());
            if !empty {
                facts.insert(key, value);
            }
        }
        self.observe("vault.role", id.clone(), facts);
        self.principals.push(Principal {
            id,
            policies,
            expires_at: None,
        });
    }

    async fn policies(&mut self) -> Result<(), BrokerError> {
        let Some(names) = self.list_part("ACL policies", "sys/policies/acl").await? else {
            return Ok(());
        };
        for name in names {
            if name == "root" {
                continue;
            }
            let path = format!("sys/policies/acl/{name}");
            let Some(body) = self.read_part(&format!("ACL policy {name}"), &path).await? else {
                continue;
            };
            let text = body
                .pointer("/data/policy")
                .and_then(Value::as_str)
                .ok_or_else(|| self.client.malformed(&path, "no `data.policy` text"))?
                .to_owned();
            match policy::parse_policy(&name, &text) {
                Ok(parsed) => {
                    let rules: Vec<String> = parsed
                        .rules
                        .iter()
                        .map(|r| format!("{}: {}", r.path.as_str(), r.capabilities.join(",")))
                        .collect();
                    let denies: Vec<&str> = parsed
                        .rules
                        .iter()
                        .filter(|r| r.deny)
                        .map(|r| r.path.as_str())
                        .collect();
                    self.observe(
                        "vault.policy",
                        self.id(&path),
                        BTreeMap::from([("rules", json!(rules)), ("deny", json!(denies))]),
                    );
                    self.policies.insert(name, parsed);
                }
                Err(error) => self.unknown(
                    format!("grants of ACL policy {name}"),
                    format!("/v1/{path}: {error}"),
                ),
            }
        }
        Ok(())
    }

    async fn identity(&mut self) -> Result<(), BrokerError> {
        // Entities.
        if let Some(ids) = self
            .list_part("identity entities", "identity/entity/id")
            .await?
        {
            for entity in ids {
                let path = format!("identity/entity/id/{entity}");
                let Some(body) = self.read_part("identity entities", &path).await? else {
                    continue;
                };
                if body.is_null() {
                    continue;
                }
                let data = self.data_object(&path, &body)?;
                let id = self.id(&path);
                let name = data
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&entity)
                    .to_owned();
                self.add_identity(
                    id.clone(),
                    IdentityKind::ServiceAccount,
                    format!("entity {name}"),
                );
                let mut aliases = Vec::new();
                for alias in data
                    .get("aliases")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let alias_id = alias
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned();
                    let label = format!(
                        "{}{}",
                        alias
                            .get("mount_path")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                        alias.get("name").and_then(Value::as_str).unwrap_or("")
                    );
                    aliases.push(label.clone());
                    self.observe(
                        "vault.alias",
                        self.id(&format!("identity/entity-alias/id/{alias_id}")),
                        BTreeMap::from([
                            ("entity", json!(id)),
                            ("name", alias.get("name").cloned().unwrap_or_default()),
                            (
                                "mount_path",
                                alias.get("mount_path").cloned().unwrap_or_default(),
                            ),
                            (
                                "mount_type",
                                alias.get("mount_type").cloned().unwrap_or_default(),
                            ),
                        ]),
                    );
                }
                aliases.sort();
                let policies = strings(data.get("policies"));
                self.observe(
                    "vault.entity",
                    id.clone(),
                    BTreeMap::from([
                        ("name", json!(name)),
                        (
                            "disabled",
                            data.get("disabled").cloned().unwrap_or_default(),
                        ),
                        ("policies", json!(policies)),
                        ("aliases", json!(aliases)),
                        ("group_ids", json!(strings(data.get("group_ids")))),
                    ]),
                );
                self.principals.push(Principal {
                    id,
                    policies,
                    expires_at: None,
                });
            }
        }
        // Groups: members act with the group's policies.
        if let Some(ids) = self
            .list_part("identity groups", "identity/group/id")
            .await?
        {
            for group in ids {
                let path = format!("identity/group/id/{group}");
                let Some(body) = self.read_part("identity groups", &path).await? else {
                    continue;
                };
                if body.is_null() {
                    continue;
                }
                let data = self.data_object(&path, &body)?;
                let id = self.id(&path);
                let name = data
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&group)
                    .to_owned();
                self.add_identity(id.clone(), IdentityKind::VaultRole, format!("group {name}"));
                let members = strings(data.get("member_entity_ids"));
                let subgroups = strings(data.get("member_group_ids"));
                for member in members
                    .iter()
                    .map(|m| self.id(&format!("identity/entity/id/{m}")))
                    .chain(
                        subgroups
                            .iter()
                            .map(|g| self.id(&format!("identity/group/id/{g}"))),
                    )
                    .collect::<Vec<_>>()
                {
                    let subject_local = member
                        .strip_prefix(&self.prefix)
                        .unwrap_or(&member)
                        .to_owned();
                    self.out.estate.grants.push(Grant {
                        id: grant_id(&self.prefix, &subject_local, "member", &path),
                        subject: member,
                        target: id.clone(),
                        actions: ActionSet::from_iter([Action::Assume]),
                        standing: true,
                        expires_at: None,
                        conditions: Some(format!(
                            "member of identity group {name}: acts with its policies"
                        )),
                        source: Some(self.id(&path)),
                    });
                }
                let policies = strings(data.get("policies"));
                self.observe(
                    "vault.group",
                    id.clone(),
                    BTreeMap::from([
                        ("name", json!(name)),
                        ("type", data.get("type").cloned().unwrap_or_default()),
                        ("policies", json!(policies)),
                        ("member_entity_ids", json!(members)),
                        ("member_group_ids", json!(subgroups)),
                    ]),
                );
                self.principals.push(Principal {
                    id,
                    policies,
                    expires_at: None,
                });
            }
        }
        Ok(())
    }

    async fn tokens(&mut self) -> Result<(), BrokerError> {
        let part = "token accessors";
        let Some(accessors) = self.list_part(part, "auth/token/accessors").await? else {
            // The reason names the path; say what it takes.
            if let Some(last) = self.out.unknowns.last_mut() {
                last.reason
                    .push_str(" (listing token accessors needs `sudo` on auth/token/accessors)");
            }
            return Ok(());
        };
        if accessors.len() > MAX_ITEMS {
            self.unknown(
                part,
                format!(
                    "{} accessors; only the first {MAX_ITEMS} were read",
                    accessors.len()
                ),
            );
        }
        for accessor in accessors.into_iter().take(MAX_ITEMS) {
            let path = "auth/token/lookup-accessor";
            let answer = match self
                .client
                .write(path, &json!({ "accessor": accessor }))
                .await
            {
                // Expired or revoked between the list and the lookup ("invalid accessor").
                Err(BrokerError::Status { status: 400, .. }) => continue,
                other => other?,
            };
            let data = match answer {
                Answer::Data(body) => self.data_object(path, &body)?,
                // Revoked or expired between the list and the lookup.
                Answer::Missing => continue,
                Answer::Forbidden(message) => {
                    self.unknown(part, format!("403 on /v1/{path}: {message}"));
                    return Ok(());
                }
            };
            // A lookup by accessor answers `id: ""`; never keep anything else from that field.
            let credential_id = self.id(&format!("auth/token/accessors/{accessor}"));
            let principal_id = self.id(&format!("token/{accessor}"));
            let display = data
                .get("display_name")
                .and_then(Value::as_str)
                .unwrap_or("token")
                .to_owned();
            let issued_at = data
                .get("creation_time")
                .and_then(Value::as_i64)
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
            let expires_at = data
                .get("expire_time")
                .and_then(Value::as_str)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            let mut policies = strings(data.get("policies"));
            policies.extend(strings(data.get("identity_policies")));
            policies.sort();
            policies.dedup();
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
            if let Some(entity) = data
                .get("entity_id")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
            {
                let entity_path = format!("identity/entity/id/{entity}");
                let entity_id = self.id(&entity_path);
                if self.identity_ids.contains(&entity_id) {
                    self.out.estate.grants.push(Grant {
                        id: grant_id(
                            &self.prefix,
                            &format!("token/{accessor}"),
                            "entity",
                            &entity_path,
                        ),
                        subject: principal_id.clone(),
                        target: entity_id,
                        actions: ActionSet::from_iter([Action::Assume]),
                        standing: true,
                        expires_at,
                        conditions: Some(
                            "the token acts as its identity entity (entity and group policies)"
                                .into(),
                        ),
                        source: Some(credential_id.clone()),
                    });
                }
            }
            let mut facts = BTreeMap::from([
                ("accessor", json!(accessor)),
                ("display_name", json!(display)),
                ("policies", json!(policies)),
            ]);
            for key in [
                "creation_time",
                "creation_ttl",
                "expire_time",
                "explicit_max_ttl",
                "orphan",
                "path",
                "type",
                "renewable",
                "entity_id",
                "role",
                "num_uses",
                "period",
                "meta",
            ] {
                facts.insert(key, data.get(key).cloned().unwrap_or_default());
            }
            self.observe("vault.token", credential_id, facts);
            self.principals.push(Principal {
                id: principal_id,
                policies,
                expires_at,
            });
        }
        Ok(())
    }

    async fn leases(&mut self) -> Result<(), BrokerError> {
        let mut pending = vec![String::new()];
        let mut found = 0usize;
        while let Some(prefix) = pending.pop() {
            let Some(keys) = self
                .list_part("leases", &format!("sys/leases/lookup/{prefix}"))
                .await?
            else {
                if let Some(last) = self.out.unknowns.last_mut() {
                    last.reason
                        .push_str(" (listing leases needs `sudo` on sys/leases/lookup)");
                }
                return Ok(());
            };
            for key in keys {
                if key.ends_with('/') {
                    pending.push(format!("{prefix}{key}"));
                    continue;
                }
                found += 1;
                if found > MAX_ITEMS {
                    self.unknown(
                        "leases",
                        format!("more than {MAX_ITEMS} leases; the rest were not read"),
                    );
                    return Ok(());
                }
                let lease_id = format!("{prefix}{key}");
                let path = "sys/leases/lookup";
                let answer = match self
                    .client
                    .write(path, &json!({ "lease_id": lease_id }))
                    .await
                {
                    // Expired or revoked between the list and the lookup.
                    Err(BrokerError::Status { status: 400, .. }) => continue,
                    other => other?,
                };
                let data = match answer {
                    Answer::Data(body) => self.data_object(path, &body)?,
                    Answer::Missing => continue,
                    Answer::Forbidden(message) => {
                        self.unknown("leases", format!("403 on /v1/{path}: {message}"));
                        return Ok(());
                    }
                };
                let mut facts = BTreeMap::from([("lease_id", json!(lease_id))]);
                for key in ["issue_time", "expire_time", "renewable", "last_renewal"] {
                    facts.insert(key, data.get(key).cloned().unwrap_or_default());
                }
                self.observe(
                    "vault.lease",
                    self.id(&format!("sys/leases/lookup/{lease_id}")),
                    facts,
                );
            }
        }
        Ok(())
    }

    /// The resource standing for a policy path (created on first use).
    fn path_resource(&mut self, path: &PathPattern) -> String {
        let id = self.id(path.as_str());
        if !self.resources.contains_key(&id) {
            let under_kv = self
                .kv_mounts
                .keys()
                .any(|m| path.as_str().starts_with(m.as_str()));
            let control_plane = ["sys/", "auth/", "identity/"]
                .iter()
                .any(|p| path.as_str().starts_with(p));
            let kind = if under_kv {
                ResourceKind::SecretStore
            } else {
                ResourceKind::Api
            };
            let sensitivity = if under_kv || control_plane || path.as_str() == "*" {
                Sensitivity::Restricted
            } else {
                Sensitivity::Internal
            };
            let what = if path.is_pattern() {
                "path pattern"
            } else {
                "path"
            };
            self.resources.insert(
                id.clone(),
                Resource {
                    id: id.clone(),
                    kind,
                    name: format!("{what} {}", path.as_str()),
                    sensitivity,
                    crown_jewel: path.as_str() == "*",
                    environment: self.environment.clone(),
                    holds_credentials: Vec::new(),
                    runs_as: Vec::new(),
                },
            );
        }
        id
    }

    /// Grants from every principal's policies (see the module documentation).
    fn grants(&mut self) {
        let principals = std::mem::take(&mut self.principals);
        // (subject, target) → grant, so rules of several policies on one path merge.
        let mut merged: BTreeMap<(String, String), Grant> = BTreeMap::new();
        let mut denied: Vec<(String, BTreeMap<&str, Value>)> = Vec::new();
        for principal in &principals {
            let subject_local = principal
                .id
                .strip_prefix(&self.prefix)
                .unwrap_or(&principal.id)
                .to_owned();
            let mut held: Vec<&Policy> = Vec::new();
            let mut missing: Vec<&str> = Vec::new();
            for name in &principal.policies {
                match self.policies.get(name) {
                    Some(p) => held.push(p),
                    None if name == "root" => {}
                    None => missing.push(name),
                }
            }
            let held: Vec<Policy> = held.into_iter().cloned().collect();
            if principal.policies.iter().any(|p| p == "root") {
                let target = self.path_resource(&PathPattern::new("*"));
                let actions = ActionSet::from_iter([Action::Read, Action::Write, Action::Admin]);
                merged.insert(
                    (principal.id.clone(), target.clone()),
                    Grant {
                        id: grant_id(&self.prefix, &subject_local, "root", "*"),
                        subject: principal.id.clone(),
                        target,
                        actions,
                        standing: true,
                        expires_at: principal.expires_at,
                        conditions: Some("root policy: every path, every capability".into()),
                        source: Some(self.id("sys/policies/acl/root")),
                    },
                );
            }
            if !missing.is_empty() {
                self.unknown(
                    format!("grants of {}", principal.id),
                    format!(
                        "policies {} could not be read or do not exist",
                        missing.join(", ")
                    ),
                );
            }
            let denies: Vec<(&str, &policy::PathRule)> = held
                .iter()
                .flat_map(|p| {
                    p.rules
                        .iter()
                        .filter(|r| r.deny)
                        .map(move |r| (p.name.as_str(), r))
                })
                .collect();
            // One grant per allowing rule, on the rule's path.
            for policy in &held {
                for rule in policy
                    .rules
                    .iter()
                    .filter(|r| !r.deny && !r.actions.is_empty())
                {
                    let covering = denies.iter().find(|(_, d)| d.path.covers(&rule.path));
                    if let Some((deny_policy, deny_rule)) = covering {
                        denied.push((
                            self.id(&format!(
                                "denied/{subject_local}/{}/{}",
                                policy.name,
                                rule.path.as_str()
                            )),
                            BTreeMap::from([
                                ("subject", json!(principal.id)),
                                ("policy", json!(policy.name)),
                                ("rule", json!(rule.path.as_str())),
                                ("capabilities", json!(rule.capabilities)),
                                (
                                    "denied_by",
                                    json!(format!("{deny_policy}: {}", deny_rule.path.as_str())),
                                ),
                            ]),
                        ));
                        continue;
                    }
                    let mut conditions = Vec::new();
                    if rule.path.is_pattern() {
                        conditions.push(format!(
                            "over-approximation: policy {} rule `{}` is a pattern standing for every matching path",
                            policy.name,
                            rule.path.as_str()
                        ));
                    } else {
                        conditions.push(format!(
                            "policy {} rule `{}`",
                            policy.name,
                            rule.path.as_str()
                        ));
                    }
                    for (deny_policy, deny_rule) in &denies {
                        if deny_rule.path.may_overlap(&rule.path) {
                            conditions.push(format!(
                                "except `{}` (deny in policy {deny_policy})",
                                deny_rule.path.as_str()
                            ));
                        }
                    }
                    if rule.parameter_constraints {
                        conditions.push("narrowed by parameter constraints".into());
                    }
                    let target = self.path_resource(&rule.path);
                    let source = self.id(&format!("sys/policies/acl/{}", policy.name));
                    add_grant(
                        &mut merged,
                        Grant {
                            id: grant_id(&self.prefix, &subject_local, "rule", rule.path.as_str()),
                            subject: principal.id.clone(),
                            target,
                            actions: rule.actions,
                            standing: true,
                            expires_at: principal.expires_at,
                            conditions: Some(conditions.join("; ")),
                            source: Some(source),
                        },
                    );
                }
            }
            // Exact evaluation on every KV secret found.
            for secret in &self.kv_secrets {
                let decision = policy::evaluate(held.iter(), secret);
                let target = self.id(secret);
                if let Some((deny_policy, deny_path)) = &decision.denied_by {
                    let would =
                        policy::evaluate(held.iter().filter(|p| &p.name != deny_policy), secret);
                    if !would.actions.is_empty() {
                        denied.push((
                            self.id(&format!("denied/{subject_local}/{secret}")),
                            BTreeMap::from([
                                ("subject", json!(principal.id)),
                                ("path", json!(secret)),
                                ("denied_by", json!(format!("{deny_policy}: {deny_path}"))),
                            ]),
                        ));
                    }
                    continue;
                }
                if decision.actions.is_empty() {
                    continue;
                }
                let via: Vec<String> = decision
                    .deciding
                    .iter()
                    .map(|(p, r)| format!("policy {p} rule `{r}`"))
                    .collect();
                let from_pattern = decision
                    .deciding
                    .iter()
                    .any(|(_, r)| PathPattern::new(r).is_pattern());
                let conditions = if from_pattern {
                    format!(
                        "derived from a pattern, evaluated for this path as Vault does: {}",
                        via.join(", ")
                    )
                } else {
                    via.join(", ")
                };
                let source = decision
                    .deciding
                    .first()
                    .map(|(p, _)| self.id(&format!("sys/policies/acl/{p}")));
                add_grant(
                    &mut merged,
                    Grant {
                        id: grant_id(&self.prefix, &subject_local, "rule", secret),
                        subject: principal.id.clone(),
                        target,
                        actions: decision.actions,
                        standing: true,
                        expires_at: principal.expires_at,
                        conditions: Some(conditions),
                        source,
                    },
                );
            }
        }
        for (id, facts) in denied {
            self.observe("vault.denied", id, facts);
        }
        self.out.estate.grants.extend(merged.into_values());
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

/// A JSON list of strings (anything else is empty).
fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
