//! The one API of Bridle. The CLI and the desktop app are thin adapters over [`Bridle`] and the
//! free functions here; neither touches SQL or the graph directly.
//!
//! Architecture invariant: this is the only crate that turns domain types into `protocol` types,
//! and the only place where the clock and the OS user are read (and then passed down as inputs).

mod brokers;
mod compliance;
mod console;
mod console_compliance;
mod convert;
mod credential_approvals;
mod error;
mod evaluation_cache;
pub mod evidence;
pub mod export;
mod file_import;
pub mod files;
mod flows;
pub mod generate;
mod graph;
mod graph_view;
mod import;
mod inventory;
#[cfg(test)]
mod paging_tests;
mod paths;
mod risk;
#[cfg(test)]
mod rulebook_tests;
#[cfg(test)]
mod test_support;

#[cfg(test)]
mod evaluation_minute_tests {
    use bridle_core::time::parse_utc;

    #[test]
    fn clicks_within_a_minute_share_its_start() {
        let t = |s: &str| parse_utc(s).unwrap();
        assert_eq!(
            super::evaluation_minute(t("2026-12-07T14:05:59.999Z")),
            t("2026-12-07T14:05:00Z")
        );
        assert_eq!(
            super::evaluation_minute(t("2026-12-07T14:05:00Z")),
            t("2026-12-07T14:05:00Z")
        );
    }
}

pub use import::source_name;
pub use inventory::SnapshotCheck;

pub use compliance::{catalog, controls, frameworks, parse_framework, parse_severity};
pub use console_compliance::console_actor;
pub use credential_approvals::{ApprovalsError, CredentialApproval, CredentialUse, LocalApprovals};
pub use error::{ApiError, ErrorCode};
pub use file_import::{BrokerFileFormat, PreparedBrokerFile, prepare_broker_file};
pub use flows::FlowFile;
pub use graph::ReachJson;
pub use import::PreparedImport;
pub use paths::DataPaths;
pub use risk::parse_risk_id;

use std::path::Path;

use bridle_core::time::Timestamp;
use bridle_store::{Actor, AuditKey, Store};

use crate::error::store_error;

/// The demo estate shipped with Bridle (a fictional company, see `assets/demo/README.md`).
pub const DEMO_ESTATE: &[u8] = include_bytes!("../../../assets/demo/estate.json");

/// The source the demo estate is imported under.
pub const DEMO_SOURCE: &str = "import:demo";

/// The demo's approval flows (`assets/demo/flows/`): a sound design for the support bot, and the
/// seed's edge case (staging before approval) as the finance team first drew it.
pub const DEMO_FLOWS: [(&str, &str); 2] = [
    (
        "demo flow helpdesk-reply.yaml",
        include_str!("../../../assets/demo/flows/helpdesk-reply.yaml"),
    ),
    (
        "demo flow ledger-reconciliation.yaml",
        include_str!("../../../assets/demo/flows/ledger-reconciliation.yaml"),
    ),
];

/// An open inventory.
#[derive(Debug, Clone)]
pub struct Bridle {
    store: Store,
    /// Shared by clones: they read the same database.
    cache: std::sync::Arc<evaluation_cache::EvaluationCache>,
    settings: Settings,
    /// Where the local user's credential approvals are; without one, no broker credential is
    /// ever read.
    approvals: Option<LocalApprovals>,
}

/// Limits the analyses use; defaults are the documented ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Credentials older than this (from `last_rotated`, else `issued_at`) count as long-lived.
    pub rotation_limit_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rotation_limit_days: 90,
        }
    }
}

impl Bridle {
    /// Opens (creating or upgrading) the database at `db`, with the audit key at `audit_key`.
    pub async fn open(db: &Path, audit_key: &Path) -> Result<Bridle, ApiError> {
        let store = Store::open(db, AuditKey::at(audit_key))
            .await
            .map_err(store_error)?;
        Ok(Bridle {
            store,
            cache: Default::default(),
            settings: Settings::default(),
            approvals: None,
        })
    }

    /// Uses the local user's credential approvals at `file` (see [`LocalApprovals`]).
    pub fn with_credential_approvals(mut self, file: impl Into<std::path::PathBuf>) -> Bridle {
        self.approvals = Some(LocalApprovals::at(file));
        self
    }

    /// Checkpoints and closes the database; call before the process exits.
    pub async fn close(self) -> Result<(), ApiError> {
        self.store.close().await.map_err(store_error)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn database_path(&self) -> &Path {
        self.store.path()
    }

    /// Loads the demo: the estate as a new snapshot of [`DEMO_SOURCE`], then its flows
    /// ([`DEMO_FLOWS`], saved only when the estate was imported).
    pub async fn load_demo(
        &self,
        at: Timestamp,
        actor: &Actor,
    ) -> Result<bridle_protocol::ImportOutcome, ApiError> {
        let prepared = PreparedImport::from_bytes(
            "demo estate".to_owned(),
            DEMO_ESTATE,
            bridle_core::estate::Syntax::Json,
        );
        let outcome = self.import(prepared, DEMO_SOURCE, at, actor).await?;
        if let bridle_protocol::ImportOutcome::Imported { .. } = outcome {
            let flows: Vec<FlowFile> = DEMO_FLOWS
                .iter()
                .map(|(name, text)| FlowFile {
                    name: (*name).to_owned(),
                    text: (*text).to_owned(),
                })
                .collect();
            self.flow_import(&flows, at, actor).await?;
        }
        Ok(outcome)
    }
}

/// The user and host making a change, for the audit log.
pub fn current_actor() -> Actor {
    let user = whoami::fallible::username().unwrap_or_else(|_| "unknown".to_owned());
    let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown".to_owned());
    Actor { user, host }
}

/// The wall clock, read only at the edges and passed down.
///
/// The evaluation time of the console's analyses at `now`: the start of its minute. Every
/// click within a minute then shares one evaluation (one privilege graph, see
/// [`Bridle::current_graph`]) instead of rebuilding it for a new time per click; each view states
/// the time it was evaluated at. Records (imports, risk changes) keep their exact time.
pub fn evaluation_minute(now: Timestamp) -> Timestamp {
    use chrono::{DurationRound, TimeDelta};
    now.duration_trunc(TimeDelta::minutes(1)).unwrap_or(now)
}

/// Debug builds honour `BRIDLE_TEST_CLOCK` (an RFC 3339 time, fixed for the whole process) so
/// the end-to-end tests can record an inventory, risks and attestations before the fixed
/// evaluation times their packs are checked at; release builds never read it.
pub fn now() -> Timestamp {
    #[cfg(debug_assertions)]
    if let Some(fixed) = std::env::var("BRIDLE_TEST_CLOCK")
        .ok()
        .and_then(|text| bridle_core::time::parse_utc(&text).ok())
    {
        return fixed;
    }
    chrono::Utc::now()
}
