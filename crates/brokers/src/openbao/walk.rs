//! The HTTP walk: reads everything a sync maps (secret engines and KV key trees, auth methods
//! and their roles, ACL policies, identity entities and groups, token accessors, leases) into a
//! [`BrokerState`]. Nothing here decides access; [`super::mapping`] does, offline.
//!
//! Transport failures, timeouts, 5xx and malformed answers fail the walk; a part the token may
//! not read (403) becomes an [`UnknownPart`] with the server's reason. The KV trees, the leases
//! and the token accessors are crawled within the profile's [`CrawlLimits`]: going past one
//! fails the walk with [`BrokerError::CrawlLimit`], never a silently partial state.

use std::collections::BTreeMap;

use serde_json::json;

use super::answers::{
    Entity, Group, KvMetadata, Lease, Mount, PolicyText, RoleData, RoleId, TokenLookup,
};
use super::client::{Client, Reply};
use super::mapping::{BrokerState, KvSecret, LeaseFacts, PolicySource, Role, Token};
use crate::limits::{CrawlLimit, CrawlLimits};
use crate::{BrokerError, UnknownPart};

pub async fn walk(client: &Client, limits: CrawlLimits) -> Result<BrokerState, BrokerError> {
    let mut walk = Walk {
        client,
        limits,
        kv_entries: 0,
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
    limits: CrawlLimits,
    /// KV secrets and folders listed so far, all mounts together (against `max_items`).
    kv_entries: usize,
    state: BrokerState,
}

/// What each crawl counts, as its error names it.
const KV_ENTRIES: &str = "KV secrets and folders";
const LEASE_ENTRIES: &str = "leases and lease prefixes";
const ACCESSORS: &str = "token accessors";

impl Walk<'_> {
    /// The error for a crawl of `crawled` that went past `limit` at `location`.
    fn past(&self, limit: CrawlLimit, crawled: &'static str, location: String) -> BrokerError {
        BrokerError::CrawlLimit {
            address: self.client.address().to_owned(),
            limit,
            value: match limit {
                CrawlLimit::Items => self.limits.max_items,
                CrawlLimit::Depth => self.limits.max_depth,
            },
            crawled,
            location,
        }
    }

    /// Fails when a folder at `relative` (below a mount or `sys/leases/lookup/`, ending in `/`)
    /// is deeper than `max_depth`; `location` names it in full.
    fn check_depth(
        &self,
        relative: &str,
        crawled: &'static str,
        location: impl FnOnce() -> String,
    ) -> Result<(), BrokerError> {
        // Depth is the number of `/` in the path, so a key a server answers with slashes inside
        // (`a/b/`) counts as deep as it is.
        if relative.matches('/').count() > self.limits.max_depth {
            return Err(self.past(CrawlLimit::Depth, crawled, location()));
        }
        Ok(())
    }

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

    /// Walks a KV mount's key tree (metadata only, never a value), every secret and folder
    /// counted against `max_items` and every folder's depth checked against `max_depth`.
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
                self.kv_entries += 1;
                if self.kv_entries > self.limits.max_items {
                    return Err(self.past(
                        CrawlLimit::Items,
                        KV_ENTRIES,
                        format!("{mount}{folder}"),
                    ));
                }
                let relative = format!("{folder}{key}");
                if key.ends_with('/') {
                    self.check_depth(&relative, "KV folder", || format!("{mount}{relative}"))?;
                    pending.push(relative);
                    continue;
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
        // One LIST answers them all (bounded by the body cap); each then costs a lookup.
        if accessors.len() > self.limits.max_items {
            return Err(self.past(
                CrawlLimit::Items,
                ACCESSORS,
                "auth/token/accessors".to_owned(),
            ));
        }
        for accessor in accessors {
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

    /// Walks `sys/leases/lookup/`, every lease and prefix counted against `max_items` and every
    /// prefix's depth checked against `max_depth`.
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
                found += 1;
                if found > self.limits.max_items {
                    return Err(self.past(
                        CrawlLimit::Items,
                        LEASE_ENTRIES,
                        format!("sys/leases/lookup/{prefix}"),
                    ));
                }
                if key.ends_with('/') {
                    let deeper = format!("{prefix}{key}");
                    self.check_depth(&deeper, "lease prefix", || {
                        format!("sys/leases/lookup/{deeper}")
                    })?;
                    pending.push(deeper);
                    continue;
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

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::test_server::{Reply, Request, serve};
    use crate::{BrokerKind, Profile, SecretRef};

    /// A fake OpenBao/Vault: one KV v2 mount `secret/` whose folders `kv` lists, leases whose
    /// prefixes `leases` lists, `accessors` token accessors; every other read is 404 (nothing
    /// there), so each test sees only the crawl it is about. Runs the walk with `limits`.
    fn walk_with(
        limits: CrawlLimits,
        kv: fn(&str) -> Vec<String>,
        leases: fn(&str) -> Vec<String>,
        accessors: usize,
    ) -> (String, Result<BrokerState, BrokerError>) {
        let server = serve(move |request: &Request| {
            let list = |keys: Vec<String>| {
                if keys.is_empty() {
                    Reply::json(404, &json!({"errors": []}))
                } else {
                    Reply::json(200, &json!({"data": {"keys": keys}}))
                }
            };
            let path = request.path.as_str();
            // The client lists `<root>/<folder>?list=true` without the folder's final `/`.
            let folder = |root: &str| {
                let rest = path.strip_prefix(root)?.strip_suffix("?list=true")?;
                match rest.strip_prefix('/') {
                    Some(folder) => Some(format!("{folder}/")),
                    None => rest.is_empty().then(String::new),
                }
            };
            if let Some(folder) = folder("/v1/secret/metadata") {
                return list(kv(&folder));
            }
            if let Some(prefix) = folder("/v1/sys/leases/lookup") {
                return list(leases(&prefix));
            }
            match path {
                "/v1/sys/mounts" => Reply::json(
                    200,
                    &json!({"data": {"secret/": {"type": "kv", "options": {"version": "2"}}}}),
                ),
                "/v1/auth/token/accessors?list=true" => {
                    list((0..accessors).map(|n| format!("accessor{n}")).collect())
                }
                _ => Reply::json(404, &json!({"errors": []})),
            }
        });
        let mut token = tempfile::NamedTempFile::new().unwrap();
        token.write_all(b"test-token").unwrap();
        let profile = Profile {
            name: "fake".into(),
            kind: BrokerKind::Openbao,
            address: url::Url::parse(&server.address).unwrap(),
            tls: Default::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            credential: Some(SecretRef::File {
                path: token.path().to_owned(),
            }),
            settings: serde_json::Map::new(),
            transport: Default::default(),
        };
        let client = Client::new(&profile).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime.block_on(walk(&client, limits));
        (server.address, result)
    }

    fn nothing(_: &str) -> Vec<String> {
        Vec::new()
    }

    /// Ten secrets in the mount's root folder.
    fn ten_secrets(folder: &str) -> Vec<String> {
        match folder {
            "" => (0..10).map(|n| format!("k{n}")).collect(),
            _ => Vec::new(),
        }
    }

    /// A folder inside every folder, without end.
    fn endless_folders(_: &str) -> Vec<String> {
        vec!["deeper/".to_owned()]
    }

    /// A hundred folders inside every folder: a tree that passes 2,000 entries twenty levels
    /// down, before it is too deep.
    fn widening_folders(_: &str) -> Vec<String> {
        (0..100).map(|n| format!("f{n}/")).collect()
    }

    /// `auth/token/create/` holding ten leases.
    fn ten_leases(prefix: &str) -> Vec<String> {
        match prefix {
            "" => vec!["auth/".to_owned()],
            "auth/" => vec!["token/".to_owned()],
            "auth/token/" => vec!["create/".to_owned()],
            "auth/token/create/" => (0..10).map(|n| format!("lease{n}")).collect(),
            _ => Vec::new(),
        }
    }

    fn limits(max_items: usize, max_depth: usize) -> CrawlLimits {
        CrawlLimits {
            max_items,
            max_depth,
        }
    }

    fn crawl_limit(result: Result<BrokerState, BrokerError>) -> (BrokerError, String) {
        match result {
            Err(error @ BrokerError::CrawlLimit { .. }) => {
                let message = error.to_string();
                (error, message)
            }
            other => panic!("expected a crawl limit error, got {other:?}"),
        }
    }

    #[test]
    fn within_the_limits_every_crawl_is_read_whole() {
        let (_, state) = walk_with(limits(10, 3), ten_secrets, nothing, 10);
        assert_eq!(state.unwrap().kv_secrets.len(), 10);
        // Three prefixes and ten leases: thirteen entries, three deep.
        let (_, state) = walk_with(limits(13, 3), nothing, ten_leases, 0);
        assert!(state.unwrap().unknowns.is_empty());
    }

    #[test]
    fn a_kv_tree_past_max_items_fails_naming_the_limit_and_the_folder() {
        let (address, result) = walk_with(limits(9, 32), ten_secrets, nothing, 0);
        let (_, message) = crawl_limit(result);
        assert_eq!(
            message,
            format!(
                "{address}: more than 9 KV secrets and folders (the limit `max_items`, reached at \
                 `secret/`); Bridle stopped reading rather than keep an incomplete inventory. \
                 Raise the limit with the profile setting `max_items` (`--setting max_items=N` \
                 on `bridle broker add`, at most 1000000)"
            )
        );
        // Folders count too: a tree that widens at every level stops at the default limit.
        let (_, result) = walk_with(CrawlLimits::default(), widening_folders, nothing, 0);
        let (error, _) = crawl_limit(result);
        assert!(
            matches!(
                error,
                BrokerError::CrawlLimit {
                    limit: CrawlLimit::Items,
                    value: 2_000,
                    ..
                }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn a_kv_tree_past_max_depth_fails_naming_the_limit_and_the_folder() {
        let (address, result) = walk_with(CrawlLimits::default(), endless_folders, nothing, 0);
        let (_, message) = crawl_limit(result);
        let folder = format!("secret/{}", "deeper/".repeat(33));
        assert_eq!(
            message,
            format!(
                "{address}: KV folder `{folder}` is more than 32 folders deep (the limit \
                 `max_depth`); Bridle stopped reading rather than keep an incomplete inventory. \
                 Raise the limit with the profile setting `max_depth` (`--setting max_depth=N` \
                 on `bridle broker add`, at most 256)"
            )
        );
    }

    #[test]
    fn leases_past_either_limit_fail_naming_it_and_the_prefix() {
        let (_, result) = walk_with(limits(12, 32), nothing, ten_leases, 0);
        let (_, message) = crawl_limit(result);
        assert!(
            message.contains(
                "more than 12 leases and lease prefixes (the limit `max_items`, reached at \
                 `sys/leases/lookup/auth/token/create/`)"
            ),
            "{message}"
        );
        let (_, result) = walk_with(limits(100, 2), nothing, ten_leases, 0);
        let (_, message) = crawl_limit(result);
        assert!(
            message.contains(
                "lease prefix `sys/leases/lookup/auth/token/create/` is more than 2 folders deep \
                 (the limit `max_depth`)"
            ),
            "{message}"
        );
    }

    #[test]
    fn token_accessors_past_max_items_fail_before_any_lookup() {
        let (_, result) = walk_with(limits(9, 32), nothing, nothing, 10);
        let (_, message) = crawl_limit(result);
        assert!(
            message.contains(
                "more than 9 token accessors (the limit `max_items`, reached at \
                 `auth/token/accessors`)"
            ),
            "{message}"
        );
    }
}
