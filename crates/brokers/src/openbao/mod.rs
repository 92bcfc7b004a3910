//! OpenBao / HashiCorp Vault (one HTTP API): auth mounts and their roles, ACL policies as grants,
//! KV mounts and secret paths as secret stores, identity entities and groups, token accessors and
//! leases — mapped into the estate model with ids and grant sources `vault:<profile>:<path>`.
//!
//! Layout: [`client`] speaks HTTP, [`answers`] types the server's answers, [`walk`] reads the
//! broker into a [`mapping::BrokerState`], [`policy`] parses policy text, [`acl`] is the server's
//! ACL semantics (pure; the differential test compares it with a real server's
//! `sys/capabilities`), and [`mapping`] turns a walk into the estate offline.
//!
//! Mapping (what a reviewer needs to know; `docs/brokers.md` says it in full):
//! - a role of an auth method (`auth/<mount>/role/<name>`, token roles `auth/token/roles/<name>`),
//!   an identity group → identity `vault_role`; an identity entity → `service_account`; a token
//!   (by accessor) → credential `token` held by its own principal (`api_key_principal`);
//! - each principal's access is evaluated with *one* ACL merged from every policy a token of it
//!   holds, as the server does: a token's policies and its identity policies; a role's token
//!   policies, `default`, and — for an approle role whose role id names an entity alias — that
//!   entity's and its groups' policies; an entity's and its groups' (direct and inherited)
//!   policies; a group's and its parent groups'. Memberships are facts, not edges: an edge would
//!   unite separately evaluated ACLs, which the server never does;
//! - every merged rule that allows an action → a grant on the rule's path as a resource (secret
//!   store under a KV mount, `api` elsewhere); a pattern (`*`, `+`) is marked `over-approximation`;
//! - every KV secret found (metadata only, never a value) → a secret-store resource, and each
//!   principal's capabilities on each of its paths (`data/`, `metadata/`, `delete/`, `undelete/`,
//!   `destroy/` for KV v2) decided exactly as the server decides them: a `vault.access`
//!   observation with the capabilities per path, and a grant with the actions they imply;
//! - what the model has no field for (role TTLs, bound claims, token accessors, leases, aliases)
//!   → observations. Parts the token may not read → unknown parts with the server's reason.

pub mod acl;
mod answers;
mod client;
pub mod mapping;
pub mod policy;
mod walk;

use serde_json::{Value, json};

use crate::limits::CrawlLimits;
use crate::{BrokerError, Collected, Profile};
use answers::{Health, OwnToken};
use client::{Answer, Client, Reply};

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
    test_connection_unredacted(profile)
        .await
        .map_err(|e| profile.redact(e))
}

async fn test_connection_unredacted(profile: &Profile) -> Result<ConnectionInfo, BrokerError> {
    let client = Client::new(profile)?;
    // `sys/health` answers without the `data` envelope.
    let health: Health = match client.read("sys/health").await? {
        Answer::Data(v) => serde_json::from_value(v).unwrap_or_default(),
        _ => Health::default(),
    };
    let own = lookup_self(&client).await?;
    Ok(ConnectionInfo {
        version: health.version,
        sealed: health.sealed,
        token_policies: own.policies,
        token_ttl_seconds: own.ttl,
    })
}

/// Revokes the token with this accessor (`auth/token/revoke-accessor`); returns the broker's
/// answer as text for the audit log.
pub async fn revoke_accessor(profile: &Profile, accessor: &str) -> Result<String, BrokerError> {
    revoke_accessor_unredacted(profile, accessor)
        .await
        .map_err(|e| profile.redact(e))
}

async fn revoke_accessor_unredacted(
    profile: &Profile,
    accessor: &str,
) -> Result<String, BrokerError> {
    let client = Client::new(profile)?;
    let path = "auth/token/revoke-accessor";
    revoke(&client, path, &json!({ "accessor": accessor })).await
}

/// Revokes a lease (`sys/leases/revoke`).
pub async fn revoke_lease(profile: &Profile, lease_id: &str) -> Result<String, BrokerError> {
    revoke_lease_unredacted(profile, lease_id)
        .await
        .map_err(|e| profile.redact(e))
}

async fn revoke_lease_unredacted(profile: &Profile, lease_id: &str) -> Result<String, BrokerError> {
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

async fn lookup_self(client: &Client) -> Result<OwnToken, BrokerError> {
    let path = "auth/token/lookup-self";
    match client.get::<OwnToken>(path).await? {
        Reply::Data(own) => Ok(own),
        Reply::Forbidden(message) => Err(forbidden(client, path, message)),
        Reply::Missing => Err(client.malformed(path, "404: is this an OpenBao/Vault server?")),
    }
}

/// Reads the whole broker and maps it. Transport failures, timeouts, 5xx, malformed answers, an
/// answer past the body cap and a crawl past the profile's limits fail the sync; a part the
/// token may not read (403) becomes an [`UnknownPart`].
pub async fn collect(profile: &Profile) -> Result<Collected, BrokerError> {
    collect_unredacted(profile)
        .await
        .map_err(|e| profile.redact(e))
}

async fn collect_unredacted(profile: &Profile) -> Result<Collected, BrokerError> {
    let limits = CrawlLimits::of(profile)?;
    let client = Client::new(profile)?;
    // The token must be valid at all: a 403 here fails the sync.
    lookup_self(&client).await?;
    let state = walk::walk(&client, limits).await?;
    Ok(mapping::map(
        state,
        &format!("vault:{}:", profile.name),
        profile.setting("environment"),
    ))
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
