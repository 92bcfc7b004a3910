//! The HTTP walk: reads everything a sync maps (secret engines and KV key trees, auth methods
//! and their roles, ACL policies, identity entities and groups, token accessors, leases) into a
//! [`BrokerState`]. Nothing here decides access; [`super::mapping`] does, offline.
//!
//! Transport failures, timeouts, 5xx and malformed answers fail the walk; a part the token may
//! not read (403) becomes an [`UnknownPart`] with the server's reason.

use std::collections::BTreeMap;

use serde_json::json;

use super::answers::{
    Entity, Group, KvMetadata, Lease, Mount, PolicyText, RoleData, RoleId, TokenLookup,
};
use super::client::{Client, Reply};
use super::mapping::{BrokerState, KvSecret, LeaseFacts, PolicySource, Role, Token};
use crate::{BrokerError, UnknownPart};

/// At most this many KV secret paths, token accessors and leases are read per sync; beyond it
/// the part is recorded as unknown (truncated), never silently cut.
pub const MAX_ITEMS: usize = 2_000;

pub async fn walk(client: &Client) -> Result<BrokerState, BrokerError> {
    let mut walk = Walk {
        client,
        state: BrokerState::default(),
    };
    walk.secret_engines().await?;
    walk.auth_methods().await?;
    walk.policies().await?;
    walk.identity().await?;
    walk.tokens().await?;
    walk.leases().await?;
    Ok(walk.state)
}

struct Walk<'a> {
    client: &'a Client,
    state: BrokerState,
}

impl Walk<'_> {
    fn unknown(&mut self, part: impl Into<String>, reason: impl Into<String>) {
        self.state.unknowns.push(UnknownPart {
            part: part.into(),
            reason: reason.into(),
        });
    }

    /// Reads `path`; a 403 records `part` as unknown and answers `None`, a 404 `Some(None)`.
    async fn get<T: serde::de::DeserializeOwned>(
        &mut self,
        part: &str,
        path: &str,
    ) -> Result<Option<Option<T>>, BrokerError> {
        match self.client.get::<T>(path).await? {
            Reply::Data(data) => Ok(Some(Some(data))),
            Reply::Missing => Ok(Some(None)),
            Reply::Forbidden(message) => {
                self.unknown(part, format!("403 on /v1/{path}: {message}"));
                Ok(None)
            }
        }
    }

    async fn list(&mut self, part: &str, path: &str) -> Result<Option<Vec<String>>, BrokerError> {
        match self.client.list(path).await? {
            Ok(keys) => Ok(Some(keys)),
            Err(message) => {
                self.unknown(part, format!("403 on LIST /v1/{path}: {message}"));
                Ok(None)
            }
        }
    }

    async fn secret_engines(&mut self) -> Result<(), BrokerError> {
        let Some(mounts) = self
            .get::<BTreeMap<String, Mount>>("secret engines", "sys/mounts")
            .await?
        else {
            return Ok(());
        };
        for (path, mount) in mounts.unwrap_or_default() {
            if mount.kind != "kv" {
                continue;
            }
            let version = mount.kv_version();
            self.state.kv_mounts.insert(path.clone(), mount);
            self.kv_keys(&path, version).await?;
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
            let Some(keys) = self.list(&part, &format!("{list_root}{folder}")).await? else {
                continue;
            };
            for key in keys {
                let relative = format!("{folder}{key}");
                if key.ends_with('/') {
                    pending.push(relative);
                    continue;
                }
                if self.state.kv_secrets.len() >= MAX_ITEMS {
                    self.unknown(
                        format!("KV secrets of {mount}"),
                        format!("more than {MAX_ITEMS} secret paths; the rest were not read"),
                    );
                    return Ok(());
                }
                let metadata = if version == 2 {
                    let part = format!("KV metadata of {mount}{relative}");
                    self.get::<KvMetadata>(&part, &format!("{mount}metadata/{relative}"))
                        .await?
                        .flatten()
                        .map(|m| m.fields)
                } else {
                    None
                };
                self.state.kv_secrets.push(KvSecret {
                    mount: mount.to_owned(),
                    version,
                    key: relative,
                    metadata,
                });
            }
        }
        Ok(())
    }

    async fn auth_methods(&mut self) -> Result<(), BrokerError> {
        let Some(mounts) = self
            .get::<BTreeMap<String, Mount>>("auth methods", "sys/auth")
            .await?
        else {
            return Ok(());
        };
        for (mount, info) in mounts.unwrap_or_default() {
            let kind = info.kind.clone();
            self.state.auth_mounts.insert(mount.clone(), info);
            let roles_path = match kind.as_str() {
                "approle" | "jwt" | "oidc" | "kubernetes" => format!("auth/{mount}role"),
                "token" => "auth/token/roles".to_owned(),
                "userpass" => format!("auth/{mount}users"),
                _ => continue,
            };
            let part = format!("roles of auth/{mount} ({kind})");
            let Some(names) = self.list(&part, &roles_path).await? else {
                continue;
            };
            for name in names {
                let path = format!("{roles_path}/{name}");
                let Some(Some(data)) = self.get::<RoleData>(&part, &path).await? else {
                    continue;
                };
                // An approle login's entity alias is named by the role id: read it so the
                // entity (and its groups' policies) can be joined to the role exactly.
                let role_id = if kind == "approle" {
                    self.get::<RoleId>(
                        &format!("role id of auth/{mount}role/{name}"),
                        &format!("{path}/role-id"),
                    )
                    .await?
                    .flatten()
                    .map(|r| r.role_id)
                } else {
                    None
                };
                self.state.roles.push(Role {
                    kind: kind.clone(),
                    mount: mount.clone(),
                    name,
                    path,
                    data,
                    role_id,
                });
            }
        }
        Ok(())
    }

    async fn policies(&mut self) -> Result<(), BrokerError> {
        let Some(names) = self.list("ACL policies", "sys/policies/acl").await? else {
            return Ok(());
        };
        for name in names {
            if name == "root" {
                continue;
            }
            let path = format!("sys/policies/acl/{name}");
            let Some(Some(text)) = self
                .get::<PolicyText>(&format!("ACL policy {name}"), &path)
                .await?
            else {
                continue;
            };
            self.state.policies.insert(
                name,
                PolicySource {
                    api_path: path,
                    text: text.policy,
                },
            );
        }
        Ok(())
    }

    async fn identity(&mut self) -> Result<(), BrokerError> {
        if let Some(ids) = self.list("identity entities", "identity/entity/id").await? {
            for entity in ids {
                let path = format!("identity/entity/id/{entity}");
                if let Some(Some(data)) = self.get::<Entity>("identity entities", &path).await? {
                    self.state.entities.push(data);
                }
            }
        }
        if let Some(ids) = self.list("identity groups", "identity/group/id").await? {
            for group in ids {
                let path = format!("identity/group/id/{group}");
                if let Some(Some(data)) = self.get::<Group>("identity groups", &path).await? {
                    self.state.groups.push(data);
                }
            }
        }
        Ok(())
    }

    async fn tokens(&mut self) -> Result<(), BrokerError> {
        let part = "token accessors";
        let Some(accessors) = self.list(part, "auth/token/accessors").await? else {
            // The reason names the path; say what it takes.
            if let Some(last) = self.state.unknowns.last_mut() {
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
                .post::<TokenLookup>(path, &json!({ "accessor": accessor }))
                .await
            {
                // Expired or revoked between the list and the lookup ("invalid accessor").
                Err(BrokerError::Status { status: 400, .. }) => continue,
                other => other?,
            };
            match answer {
                Reply::Data(lookup) => self.state.tokens.push(Token { accessor, lookup }),
                Reply::Missing => continue,
                Reply::Forbidden(message) => {
                    self.unknown(part, format!("403 on /v1/{path}: {message}"));
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    async fn leases(&mut self) -> Result<(), BrokerError> {
        let mut pending = vec![String::new()];
        let mut found = 0usize;
        while let Some(prefix) = pending.pop() {
            let Some(keys) = self
                .list("leases", &format!("sys/leases/lookup/{prefix}"))
                .await?
            else {
                if let Some(last) = self.state.unknowns.last_mut() {
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
                    .post::<Lease>(path, &json!({ "lease_id": lease_id }))
                    .await
                {
                    // Expired or revoked between the list and the lookup.
                    Err(BrokerError::Status { status: 400, .. }) => continue,
                    other => other?,
                };
                match answer {
                    Reply::Data(lease) => self.state.leases.push(LeaseFacts { lease_id, lease }),
                    Reply::Missing => continue,
                    Reply::Forbidden(message) => {
                        self.unknown("leases", format!("403 on /v1/{path}: {message}"));
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}
