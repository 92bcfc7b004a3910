//! Live brokers: profiles, sync (read the broker, import what it holds as source
//! `broker:<name>` through the estate import path, keep its observations), drift between two
//! syncs, and revocation at the broker with its answer in the audit log.
//!
//! A sync reads the broker completely before the database is touched. Whatever goes wrong while
//! reading (connection refused, timeout, 5xx, 403 on the token itself, a malformed answer) ends
//! as a failed run: its error and an audit entry are written, the inventory is left as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bridle_brokers::{
    BrokerError, BrokerKind, Collected, Profile, SecretRef, TlsOptions, Transport,
};
use bridle_core::estate::{self, CanonicalEntity, Diagnostic, Syntax};
use bridle_core::{EntityKind, Estate};
use bridle_protocol::brokers as wire;
use bridle_store::{
    Actor, CredentialDecision, RevocationStep, StoredObservation, StoredProfile, SyncRun, SyncStart,
};
use serde_json::Value;

use crate::credential_approvals::{ApprovalsError, CredentialUse};
use crate::error::{ApiError, ErrorCode, api_error, store_error};
use crate::import::check_against_other_sources;
use crate::{Bridle, convert};

/// Request timeout when none is given.
const DEFAULT_TIMEOUT_SECS: u64 = 30;
/// Connecting never waits longer than this (or the request timeout, if shorter).
const MAX_CONNECT_SECS: u64 = 10;

fn invalid(message: impl Into<String>) -> ApiError {
    api_error(ErrorCode::InvalidInput, message)
}

fn broker_failure(error: &BrokerError) -> ApiError {
    api_error(ErrorCode::Internal, error.to_string())
}

/// A profile name: letters, digits, `-`, `_` and `.`.
fn check_name(name: &str) -> Result<(), ApiError> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if fine {
        Ok(())
    } else {
        Err(invalid(format!(
            "broker name `{name}`: use 1-64 letters, digits, `-`, `_` or `.`"
        )))
    }
}

fn profile_of(stored: &StoredProfile) -> Result<Profile, ApiError> {
    serde_json::from_str(&stored.profile).map_err(|e| {
        api_error(
            ErrorCode::Internal,
            format!("stored profile {} is unreadable: {e}", stored.name),
        )
    })
}

fn sync_run(run: &SyncRun) -> wire::SyncRun {
    wire::SyncRun {
        id: run.id,
        profile: run.profile.clone(),
        kind: run.kind.clone(),
        address: run.address.clone(),
        started_at: run.started_at,
        finished_at: run.finished_at,
        status: if run.status == "ok" {
            wire::SyncStatus::Ok
        } else {
            wire::SyncStatus::Failed
        },
        error: run.error.clone(),
        snapshot: run.snapshot_id,
        unknown_parts: run
            .unknown_parts
            .iter()
            .map(|(part, reason)| wire::UnknownPart {
                part: part.clone(),
                reason: reason.clone(),
            })
            .collect(),
        observations: run.observations,
    }
}

fn approvals_failure(error: ApprovalsError) -> ApiError {
    api_error(ErrorCode::InvalidInput, error.to_string())
}

fn profile_row(
    stored: &StoredProfile,
    profile: &Profile,
    approved: Option<bool>,
    last: Option<&SyncRun>,
) -> wire::BrokerProfile {
    wire::BrokerProfile {
        name: profile.name.clone(),
        kind: profile.kind.as_str().to_owned(),
        address: profile.address.to_string(),
        credential: profile.credential.as_ref().map(ToString::to_string),
        credential_approved: approved,
        ca_file: profile
            .tls
            .ca_file
            .as_ref()
            .map(|p| p.display().to_string()),
        connect_timeout_secs: profile.connect_timeout.as_secs(),
        request_timeout_secs: profile.request_timeout.as_secs(),
        settings: profile.settings.clone(),
        source: profile.source(),
        created_at: stored.created_at,
        last_sync: last.map(sync_run),
    }
}

/// Reads the whole broker with the connector of its kind.
async fn collect(profile: &Profile) -> Result<Collected, BrokerError> {
    match profile.kind {
        BrokerKind::Openbao => bridle_brokers::openbao::collect(profile).await,
        BrokerKind::Oidc => bridle_brokers::oidc::collect(profile).await,
        BrokerKind::Mcp => bridle_brokers::mcp::collect(profile).await,
    }
}

/// An entity as its canonical JSON object (the fields estate/v1 writes).
fn canonical_value<T: CanonicalEntity>(entity: &T) -> Value {
    let mut line = Vec::new();
    entity.write_canonical_json(&mut line);
    serde_json::from_slice(&line).unwrap_or(Value::Null)
}

fn entity_values(
    estate: &Estate,
    wanted: &BTreeSet<(EntityKind, String)>,
) -> BTreeMap<(EntityKind, String), Value> {
    let mut values = BTreeMap::new();
    let mut take = |kind: EntityKind, id: &str, value: &dyn Fn() -> Value| {
        let key = (kind, id.to_owned());
        if wanted.contains(&key) {
            values.insert(key, value());
        }
    };
    for e in &estate.agents {
        take(EntityKind::Agent, &e.id, &|| canonical_value(e));
    }
    for e in &estate.identities {
        take(EntityKind::Identity, &e.id, &|| canonical_value(e));
    }
    for e in &estate.credentials {
        take(EntityKind::Credential, &e.id, &|| canonical_value(e));
    }
    for e in &estate.resources {
        take(EntityKind::Resource, &e.id, &|| canonical_value(e));
    }
    for e in &estate.tools {
        take(EntityKind::Tool, &e.id, &|| canonical_value(e));
    }
    for e in &estate.grants {
        take(EntityKind::Grant, &e.id, &|| canonical_value(e));
    }
    values
}

/// The fields that differ between two JSON objects.
fn field_changes(before: &Value, after: &Value) -> Vec<wire::FieldChange> {
    let empty = serde_json::Map::new();
    let a = before.as_object().unwrap_or(&empty);
    let b = after.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| wire::FieldChange {
            field: k.clone(),
            before: a.get(k).cloned().unwrap_or(Value::Null),
            after: b.get(k).cloned().unwrap_or(Value::Null),
        })
        .collect()
}

pub(crate) fn sorted_facts(facts: &serde_json::Map<String, Value>) -> String {
    let sorted: BTreeMap<&String, &Value> = facts.iter().collect();
    serde_json::to_string(&sorted).expect("JSON values serialize")
}

impl Bridle {
    pub async fn broker_add(
        &self,
        new: &wire::NewBrokerProfile,
        at: bridle_core::time::Timestamp,
        actor: &Actor,
    ) -> Result<wire::BrokerProfile, ApiError> {
        check_name(&new.name)?;
        let kind = BrokerKind::parse(&new.kind).ok_or_else(|| {
            invalid(format!(
                "--kind `{}`: expected openbao, vault, oidc or mcp",
                new.kind
            ))
        })?;
        // The address is not echoed: it may carry a password, which must go nowhere.
        let address =
            url::Url::parse(&new.address).map_err(|e| invalid(format!("--address: {e}")))?;
        let credential = new
            .credential
            .as_deref()
            .map(SecretRef::parse)
            .transpose()
            .map_err(|e| invalid(format!("--credential {e}")))?;
        let ca_file = new.ca_file.as_ref().map(std::path::PathBuf::from);
        if let Some(path) = &ca_file
            && !path.is_file()
        {
            return Err(invalid(format!(
                "--ca-file {}: no such file",
                path.display()
            )));
        }
        let timeout = new.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS);
        if timeout == 0 || timeout > 3_600 {
            return Err(invalid(format!(
                "--timeout {timeout}: give 1 to 3600 seconds"
            )));
        }
        // Settings are an allow-list per kind (checked with the rest of the profile below): they
        // are stored in the database, so a secret belongs behind --credential.
        let mut settings = serde_json::Map::new();
        for (key, value) in &new.settings {
            if !kind.settings().contains(&key.as_str()) {
                return Err(invalid(format!(
                    "--setting {key}: not a setting of a {} broker (allowed: {}); a secret is given with --credential env:NAME or file:PATH",
                    kind.as_str(),
                    if kind.settings().is_empty() {
                        "none".to_owned()
                    } else {
                        kind.settings().join(", ")
                    }
                )));
            }
            settings.insert(key.clone(), Value::String(value.clone()));
        }
        let profile = Profile {
            name: new.name.clone(),
            kind,
            address,
            tls: TlsOptions { ca_file },
            connect_timeout: Duration::from_secs(timeout.min(MAX_CONNECT_SECS)),
            request_timeout: Duration::from_secs(timeout),
            credential,
            settings,
            transport: Transport {
                allow_http: new.allow_http,
                use_proxy: new.use_proxy,
                allow_other_origins: new.allow_other_origins,
            },
        };
        // The transport rules (`Profile::check`), and a CA file that is not PEM, fail here.
        profile.http_client().map_err(|e| invalid(e.to_string()))?;
        if kind == BrokerKind::Openbao && profile.credential.is_none() {
            return Err(invalid(
                "an OpenBao/Vault broker needs --credential env:NAME or file:PATH (where its token lives)",
            ));
        }
        let stored = StoredProfile {
            name: profile.name.clone(),
            kind: kind.as_str().to_owned(),
            address: profile.address.to_string(),
            profile: serde_json::to_string(&profile).expect("a profile serializes"),
            created_at: at,
            updated_at: at,
        };
        if !self
            .store
            .add_broker_profile(&stored, actor)
            .await
            .map_err(store_error)?
        {
            return Err(api_error(
                ErrorCode::Conflict,
                format!(
                    "a broker named `{}` exists already; remove it first",
                    new.name
                ),
            ));
        }
        // The local user typed the address and the reference: that is their approval of this
        // use on this machine (the audit entry of `broker.add` records both).
        let approved = match (&self.approvals, self.credential_use(&profile)) {
            (Some(approvals), Some(used)) => {
                approvals.record(&used, at).map_err(approvals_failure)?;
                Some(true)
            }
            (None, Some(_)) => Some(false),
            (_, None) => None,
        };
        Ok(profile_row(&stored, &profile, approved, None))
    }

    fn credential_use(&self, profile: &Profile) -> Option<CredentialUse> {
        CredentialUse::of(self.store.database_id(), profile)
    }

    /// Whether the local user approved `profile`'s use of its credential (`None`: it has none).
    fn credential_approved(&self, profile: &Profile) -> Result<Option<bool>, ApiError> {
        let Some(used) = self.credential_use(profile) else {
            return Ok(None);
        };
        match &self.approvals {
            Some(approvals) => Ok(Some(
                approvals.find(&used).map_err(approvals_failure)?.is_some(),
            )),
            None => Ok(Some(false)),
        }
    }

    /// The profile `name`, ready to connect with: if it names a credential, the local user has
    /// approved sending it to this address from this database. Every path that reads a
    /// credential (test, sync, revoke) goes through here, before anything is sent.
    async fn usable_profile(&self, name: &str) -> Result<Profile, ApiError> {
        let (_, profile) = self.stored_profile(name).await?;
        if self.credential_approved(&profile)? == Some(false) {
            let credential = profile
                .credential
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            tracing::warn!(profile = name, address = %profile.address, %credential, "credential use not approved here");
            return Err(api_error(
                ErrorCode::NeedsApproval,
                format!(
                    "broker `{name}` would send your credential {credential} to {} ({}), and you                      have not approved that on this machine: the profile comes from the database,                      and a database cannot decide where your secrets go. If the address and the                      reference are right, approve them with `bridle broker approve {name}` (or                      Approve on the console's Brokers page); nothing was read or sent",
                    profile.address,
                    profile.kind.as_str(),
                ),
            ));
        }
        Ok(profile)
    }

    /// Approves, for the local user, `name`'s use of its credential exactly as the profile now
    /// says (database, address, reference, CA file, transport); audited.
    pub async fn broker_approve(
        &self,
        name: &str,
        at: bridle_core::time::Timestamp,
        actor: &Actor,
    ) -> Result<wire::BrokerProfile, ApiError> {
        let (stored, profile) = self.stored_profile(name).await?;
        let used = self.credential_use(&profile).ok_or_else(|| {
            invalid(format!(
                "broker `{name}` names no credential: there is nothing to approve"
            ))
        })?;
        let approvals = self.approvals.as_ref().ok_or_else(|| {
            api_error(
                ErrorCode::Internal,
                "this Bridle has no configuration directory to keep approvals in",
            )
        })?;
        approvals.record(&used, at).map_err(approvals_failure)?;
        let detail = serde_json::to_value(&used).expect("a credential use serializes");
        if let Err(error) = self
            .store
            .record_credential_decision(name, CredentialDecision::Approve, detail, at, actor)
            .await
        {
            // An approval the audit log does not show is not kept.
            let _ = approvals.withdraw(&used.database, name);
            return Err(store_error(error));
        }
        let runs = self.store.sync_runs(name).await.map_err(store_error)?;
        Ok(profile_row(&stored, &profile, Some(true), runs.last()))
    }

    /// Withdraws the local user's approval of `name`'s credential use; audited. Whether there
    /// was one.
    pub async fn broker_withdraw_approval(
        &self,
        name: &str,
        at: bridle_core::time::Timestamp,
        actor: &Actor,
    ) -> Result<bool, ApiError> {
        let (_, profile) = self.stored_profile(name).await?;
        let Some(approvals) = &self.approvals else {
            return Ok(false);
        };
        let database = self.store.database_id().to_owned();
        if !approvals
            .withdraw(&database, name)
            .map_err(approvals_failure)?
        {
            return Ok(false);
        }
        let detail = serde_json::json!({
            "database": database,
            "profile": name,
            "address": profile.address.as_str(),
            "credential": profile.credential.as_ref().map(ToString::to_string),
        });
        self.store
            .record_credential_decision(name, CredentialDecision::Withdraw, detail, at, actor)
            .await
            .map_err(store_error)?;
        Ok(true)
    }

    async fn stored_profile(&self, name: &str) -> Result<(StoredProfile, Profile), ApiError> {
        let stored = self
            .store
            .broker_profile(name)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                api_error(
                    ErrorCode::NotFound,
                    format!("no broker named `{name}` (see `bridle broker ls`)"),
                )
            })?;
        let profile = profile_of(&stored)?;
        Ok((stored, profile))
    }

    pub async fn broker_list(&self) -> Result<Vec<wire::BrokerProfile>, ApiError> {
        let mut rows = Vec::new();
        for stored in self.store.broker_profiles().await.map_err(store_error)? {
            let profile = profile_of(&stored)?;
            let runs = self
                .store
                .sync_runs(&stored.name)
                .await
                .map_err(store_error)?;
            let approved = self.credential_approved(&profile)?;
            rows.push(profile_row(&stored, &profile, approved, runs.last()));
        }
        Ok(rows)
    }

    pub async fn broker_show(
        &self,
        name: &str,
    ) -> Result<(wire::BrokerProfile, Vec<wire::SyncRun>), ApiError> {
        let (stored, profile) = self.stored_profile(name).await?;
        let runs = self.store.sync_runs(name).await.map_err(store_error)?;
        let approved = self.credential_approved(&profile)?;
        Ok((
            profile_row(&stored, &profile, approved, runs.last()),
            runs.iter().map(sync_run).collect(),
        ))
    }

    pub async fn broker_remove(
        &self,
        name: &str,
        at: bridle_core::time::Timestamp,
        actor: &Actor,
    ) -> Result<(), ApiError> {
        if self
            .store
            .remove_broker_profile(name, at, actor)
            .await
            .map_err(store_error)?
        {
            // A later profile of the same name is a new profile and needs its own approval.
            if let Some(approvals) = &self.approvals {
                approvals
                    .withdraw(self.store.database_id(), name)
                    .map_err(approvals_failure)?;
            }
            Ok(())
        } else {
            Err(api_error(
                ErrorCode::NotFound,
                format!("no broker named `{name}` (see `bridle broker ls`)"),
            ))
        }
    }

    /// The observations of a broker's latest good sync (or of run `run`), optionally of one kind.
    pub async fn broker_observations(
        &self,
        name: &str,
        run: Option<i64>,
        kind: Option<&str>,
    ) -> Result<Vec<wire::Observation>, ApiError> {
        self.stored_profile(name).await?;
        let runs = self.store.sync_runs(name).await.map_err(store_error)?;
        let chosen = match run {
            Some(id) => runs.iter().find(|r| r.id == id).ok_or_else(|| {
                api_error(
                    ErrorCode::NotFound,
                    format!("broker `{name}` has no sync run {id}"),
                )
            })?,
            None => runs
                .iter()
                .rev()
                .find(|r| r.snapshot_id.is_some())
                .ok_or_else(|| invalid(format!("broker `{name}` has no good sync yet")))?,
        };
        Ok(self
            .store
            .sync_observations(chosen.id)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|o| kind.is_none_or(|k| o.kind == k))
            .map(|o| wire::Observation {
                facts: serde_json::from_str(&o.facts).unwrap_or(Value::Null),
                kind: o.kind,
                id: o.id,
            })
            .collect())
    }

    /// Checks that the broker answers and the credential works; writes nothing.
    pub async fn broker_test(&self, name: &str) -> Result<wire::BrokerTest, ApiError> {
        let profile = self.usable_profile(name).await?;
        let outcome = match profile.kind {
            BrokerKind::Openbao => bridle_brokers::openbao::test_connection(&profile)
                .await
                .map(|info| {
                    let mut detail = vec![format!(
                        "OpenBao/Vault {} ({})",
                        info.version.unwrap_or_else(|| "version unknown".into()),
                        match info.sealed {
                            Some(true) => "sealed",
                            Some(false) => "unsealed",
                            None => "seal state unknown",
                        }
                    )];
                    detail.push(format!(
                        "token policies: {}",
                        info.token_policies.join(", ")
                    ));
                    detail.push(match info.token_ttl_seconds {
                        Some(0) | None => "token does not expire".to_owned(),
                        Some(s) => format!("token expires in {s} s"),
                    });
                    detail
                }),
            BrokerKind::Oidc | BrokerKind::Mcp => collect(&profile).await.map(|c| {
                vec![format!(
                    "read {} entities, {} observations",
                    c.estate.counts().identities + c.estate.counts().tools,
                    c.observations.len()
                )]
            }),
        };
        Ok(match outcome {
            Ok(detail) => wire::BrokerTest {
                profile: profile.name.clone(),
                address: profile.address.to_string(),
                ok: true,
                detail,
            },
            Err(error) => wire::BrokerTest {
                profile: profile.name.clone(),
                address: profile.address.to_string(),
                ok: false,
                detail: vec![error.to_string()],
            },
        })
    }

    /// Reads the broker and imports what it holds as a new snapshot of source `broker:<name>`;
    /// a failure is recorded as a failed run and leaves the inventory as it was. The run is
    /// returned either way.
    pub async fn sync(&self, name: &str, actor: &Actor) -> Result<wire::SyncReport, ApiError> {
        self.sync_until(name, actor, std::future::pending()).await
    }

    /// [`Bridle::sync`], stopped when `cancelled` completes while the broker is being read: the
    /// run is then recorded as failed ("cancelled") and nothing is imported. Once the read is
    /// complete the import (one short transaction) is no longer interrupted.
    pub async fn sync_until(
        &self,
        name: &str,
        actor: &Actor,
        cancelled: impl Future<Output = ()>,
    ) -> Result<wire::SyncReport, ApiError> {
        let profile = self.usable_profile(name).await?;
        let start = SyncStart {
            profile: profile.name.clone(),
            kind: profile.kind.as_str().to_owned(),
            address: profile.address.to_string(),
            started_at: crate::now(),
        };
        let collected = tokio::select! {
            read = collect(&profile) => match read {
                Ok(collected) => collected,
                Err(error) => return self.failed_sync(&start, &error.to_string(), actor).await,
            },
            () = cancelled => {
                let message = format!(
                    "cancelled by {}@{} while reading {}; nothing was imported",
                    actor.user, actor.host, start.address
                );
                return self.failed_sync(&start, &message, actor).await;
            }
        };
        // The connector's estate goes through the estate reader like any file: a connector bug
        // can never write an invalid estate.
        let mut bytes = Vec::new();
        estate::write_canonical(&collected.estate, &mut bytes).map_err(|e| {
            api_error(
                ErrorCode::Internal,
                format!("writing the synced estate: {e}"),
            )
        })?;
        let parsed = estate::parse_open(&bytes, Syntax::Json);
        let Some(synced) = parsed.estate.as_ref() else {
            let errors: Vec<String> = parsed
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .take(5)
                .map(|d| convert::diagnostic(d).message)
                .collect();
            let message = format!(
                "{}: the broker's state does not map to a valid estate: {}",
                start.address,
                errors.join("; ")
            );
            return self.failed_sync(&start, &message, actor).await;
        };
        let observations: Vec<StoredObservation> = collected
            .observations
            .iter()
            .map(|o| StoredObservation {
                kind: o.kind.clone(),
                id: o.id.clone(),
                facts: sorted_facts(&o.facts),
            })
            .collect();
        let unknown: Vec<(String, String)> = collected
            .unknowns
            .iter()
            .map(|u| (u.part.clone(), u.reason.clone()))
            .collect();
        let mut rejection: Vec<Diagnostic> = Vec::new();
        let outcome = self
            .store
            .record_sync(
                &start,
                &profile.source(),
                synced,
                &observations,
                &unknown,
                crate::now(),
                actor,
                |others| {
                    check_against_other_sources(synced, &parsed.unresolved, others, &mut rejection)
                },
            )
            .await
            .map_err(store_error)?;
        match outcome {
            Ok((run, summary)) => {
                tracing::info!(
                    profile = name,
                    snapshot = summary.snapshot.id,
                    "sync landed"
                );
                Ok(wire::SyncReport {
                    run: sync_run(&run),
                    snapshot: Some(convert::snapshot(&summary.snapshot)),
                })
            }
            Err(reasons) => {
                let mut problems: Vec<String> = rejection
                    .iter()
                    .map(|d| {
                        let d = convert::diagnostic(d);
                        format!("{}: {}", d.location, d.message)
                    })
                    .collect();
                problems.extend(reasons);
                let message = format!(
                    "the synced state conflicts with the inventory: {}",
                    problems.join("; ")
                );
                self.failed_sync(&start, &message, actor).await
            }
        }
    }

    async fn failed_sync(
        &self,
        start: &SyncStart,
        error: &str,
        actor: &Actor,
    ) -> Result<wire::SyncReport, ApiError> {
        tracing::warn!(profile = %start.profile, %error, "sync failed");
        let run = self
            .store
            .record_failed_sync(start, error, crate::now(), actor)
            .await
            .map_err(store_error)?;
        Ok(wire::SyncReport {
            run: sync_run(&run),
            snapshot: None,
        })
    }

    /// What changed in a broker's entities and observations between two snapshots. Without
    /// `from`/`to`: between its last two good syncs.
    pub async fn drift(
        &self,
        name: &str,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<wire::Drift, ApiError> {
        let source = format!("broker:{name}");
        let runs = self.store.sync_runs(name).await.map_err(store_error)?;
        let good: Vec<&SyncRun> = runs.iter().filter(|r| r.snapshot_id.is_some()).collect();
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (f, t),
            (None, None) => match good.as_slice() {
                [.., a, b] => (a.snapshot_id.unwrap_or(0), b.snapshot_id.unwrap_or(0)),
                _ => {
                    return Err(invalid(format!(
                        "broker `{name}` has fewer than two good syncs; run `bridle sync {name}` or give --from and --to"
                    )));
                }
            },
            (Some(f), None) => (
                f,
                good.last()
                    .and_then(|r| r.snapshot_id)
                    .ok_or_else(|| invalid(format!("broker `{name}` has no good sync")))?,
            ),
            (None, Some(_)) => return Err(invalid("--to needs --from")),
        };
        if from > to {
            return Err(invalid(format!("--from {from} is after --to {to}")));
        }
        let before = self
            .store
            .source_digests_at(&source, from)
            .await
            .map_err(store_error)?;
        let after = self
            .store
            .source_digests_at(&source, to)
            .await
            .map_err(store_error)?;
        let mut changed_keys = BTreeSet::new();
        let mut entities = Vec::new();
        for (key, digest) in &after {
            match before.get(key) {
                None => entities.push((wire::ChangeKind::Added, key.clone())),
                Some(old) if old != digest => {
                    changed_keys.insert(key.clone());
                    entities.push((wire::ChangeKind::Changed, key.clone()));
                }
                Some(_) => {}
            }
        }
        for key in before.keys() {
            if !after.contains_key(key) {
                entities.push((wire::ChangeKind::Removed, key.clone()));
            }
        }
        let (old_values, new_values) = if changed_keys.is_empty() {
            (BTreeMap::new(), BTreeMap::new())
        } else {
            let old = self.store.estate_at(from).await.map_err(store_error)?;
            let new = self.store.estate_at(to).await.map_err(store_error)?;
            (
                entity_values(&old, &changed_keys),
                entity_values(&new, &changed_keys),
            )
        };
        let entities = entities
            .into_iter()
            .map(|(change, (kind, id))| {
                let fields = if change == wire::ChangeKind::Changed {
                    let key = (kind, id.clone());
                    field_changes(
                        old_values.get(&key).unwrap_or(&Value::Null),
                        new_values.get(&key).unwrap_or(&Value::Null),
                    )
                } else {
                    Vec::new()
                };
                wire::DriftItem {
                    change,
                    kind: kind.as_str().to_owned(),
                    id,
                    fields,
                }
            })
            .collect();
        // Observations: the last good run at or before each snapshot.
        let run_at = |snapshot: i64| {
            good.iter()
                .rev()
                .find(|r| r.snapshot_id.is_some_and(|s| s <= snapshot))
                .map(|r| r.id)
        };
        let (from_run, to_run) = (run_at(from), run_at(to));
        let load = |run: Option<i64>| async move {
            match run {
                Some(id) => self.store.sync_observations(id).await.map_err(store_error),
                None => Ok(Vec::new()),
            }
        };
        let index = |list: Vec<StoredObservation>| -> BTreeMap<(String, String), Value> {
            list.into_iter()
                .map(|o| {
                    let facts = serde_json::from_str(&o.facts).unwrap_or(Value::Null);
                    ((o.kind, o.id), facts)
                })
                .collect()
        };
        let old_obs = index(load(from_run).await?);
        let new_obs = index(load(to_run).await?);
        let mut observations = Vec::new();
        for (key, facts) in &new_obs {
            match old_obs.get(key) {
                None => observations.push(wire::DriftItem {
                    change: wire::ChangeKind::Added,
                    kind: key.0.clone(),
                    id: key.1.clone(),
                    fields: Vec::new(),
                }),
                Some(old) if old != facts => observations.push(wire::DriftItem {
                    change: wire::ChangeKind::Changed,
                    kind: key.0.clone(),
                    id: key.1.clone(),
                    fields: field_changes(old, facts),
                }),
                Some(_) => {}
            }
        }
        for key in old_obs.keys() {
            if !new_obs.contains_key(key) {
                observations.push(wire::DriftItem {
                    change: wire::ChangeKind::Removed,
                    kind: key.0.clone(),
                    id: key.1.clone(),
                    fields: Vec::new(),
                });
            }
        }
        Ok(wire::Drift {
            profile: name.to_owned(),
            from_snapshot: from,
            to_snapshot: to,
            from_run,
            to_run,
            entities,
            observations,
        })
    }

    /// Revokes a token (by accessor) or a lease at a Vault/OpenBao broker. Refused without
    /// `confirmed`. The broker's answer, or its refusal, goes to the audit log with who and when.
    pub async fn revoke(
        &self,
        name: &str,
        target: &wire::RevokeTarget,
        confirmed: bool,
        force: bool,
        actor: &Actor,
    ) -> Result<wire::Revocation, ApiError> {
        let profile = self.usable_profile(name).await?;
        if profile.kind != BrokerKind::Openbao {
            return Err(invalid(format!(
                "broker `{name}` is {}: revocation is available for OpenBao/Vault brokers",
                profile.kind.as_str()
            )));
        }
        let (what, id) = match target {
            wire::RevokeTarget::Accessor(a) => ("accessor", a),
            wire::RevokeTarget::Lease(l) => ("lease", l),
        };
        if id.trim().is_empty() {
            return Err(invalid(format!("the {what} to revoke is empty")));
        }
        if !confirmed {
            return Err(invalid(format!(
                "revoking {what} {id} at {} cannot be undone; confirm it explicitly (--yes)",
                profile.address
            )));
        }
        // Only what Bridle has seen at this broker, unless forced: a mistyped or foreign id is
        // refused before anything is sent.
        if !force {
            let (kind, field) = match target {
                wire::RevokeTarget::Accessor(_) => ("vault.token", "accessor"),
                wire::RevokeTarget::Lease(_) => ("vault.lease", "lease_id"),
            };
            let seen = self
                .broker_observations(name, None, Some(kind))
                .await
                .map(|list| {
                    list.iter()
                        .any(|o| o.facts[field].as_str() == Some(id.as_str()))
                })
                .unwrap_or(false);
            if !seen {
                return Err(invalid(format!(
                    "{what} {id} was not seen in the latest good sync of broker `{name}`; sync it \
                     first, or pass --force to revoke an id Bridle has not seen"
                )));
            }
        }
        let intent = self
            .store
            .record_revocation(
                name,
                RevocationStep::Intent,
                serde_json::json!({
                    "profile": name,
                    "address": profile.address.as_str(),
                    "what": what,
                    "id": id,
                    "forced": force,
                }),
                crate::now(),
                actor,
            )
            .await
            .map_err(store_error)?;
        let answer = match target {
            wire::RevokeTarget::Accessor(a) => {
                bridle_brokers::openbao::revoke_accessor(&profile, a).await
            }
            wire::RevokeTarget::Lease(l) => {
                bridle_brokers::openbao::revoke_lease(&profile, l).await
            }
        };
        let at = crate::now();
        let (status, text) = match &answer {
            Ok(text) => ("revoked", text.clone()),
            Err(error) => ("failed", error.to_string()),
        };
        let audit_seq = self
            .store
            .record_revocation(
                name,
                RevocationStep::Outcome,
                serde_json::json!({
                    "profile": name,
                    "address": profile.address.as_str(),
                    "what": what,
                    "id": id,
                    "intent": intent,
                    "status": status,
                    "answer": text,
                }),
                at,
                actor,
            )
            .await
            .map_err(store_error)?;
        match answer {
            Ok(answer) => Ok(wire::Revocation {
                profile: name.to_owned(),
                address: profile.address.to_string(),
                target: target.clone(),
                answer,
                at,
                by: format!("{}@{}", actor.user, actor.host),
                audit_seq,
            }),
            Err(error) => Err(broker_failure(&error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn actor() -> Actor {
        Actor {
            user: "tester".into(),
            host: "here".into(),
        }
    }

    /// A loopback server that accepts connections and never answers.
    fn silent_server() -> (u16, std::net::TcpListener) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        (listener.local_addr().unwrap().port(), listener)
    }

    #[tokio::test]
    async fn a_cancelled_sync_is_a_failed_run_and_imports_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let bridle = Bridle::open(&dir.path().join("b.db"), &dir.path().join("audit.key"))
            .await
            .unwrap()
            .with_credential_approvals(dir.path().join("approvals.json"));
        let (port, _listener) = silent_server();
        let at = crate::now();
        bridle
            .broker_add(
                &wire::NewBrokerProfile {
                    name: "slow".into(),
                    kind: "mcp".into(),
                    address: format!("http://127.0.0.1:{port}/mcp"),
                    credential: None,
                    ca_file: None,
                    timeout_secs: Some(600),
                    settings: Vec::new(),
                    allow_http: false,
                    use_proxy: false,
                    allow_other_origins: false,
                },
                at,
                &actor(),
            )
            .await
            .unwrap();
        let report = bridle
            .sync_until(
                "slow",
                &actor(),
                tokio::time::sleep(Duration::from_millis(200)),
            )
            .await
            .unwrap();
        assert_eq!(report.run.status, wire::SyncStatus::Failed);
        assert!(report.snapshot.is_none());
        let error = report.run.error.unwrap();
        assert!(
            error.contains("cancelled by tester@here") && error.contains("nothing was imported"),
            "{error}"
        );
        assert!(bridle.store.snapshots().await.unwrap().is_empty());
    }
}
