//! Which broker credentials the local user lets Bridle send, and where.
//!
//! A broker profile lives in the database, and whoever can write the database can write a
//! profile. A credential reference (`env:NAME`, `file:PATH`) in such a profile names a secret of
//! the user who *runs* Bridle, so a profile alone must never make Bridle read that secret and send
//! it anywhere. Before a profile's credential is read, this user's own approval for exactly that
//! use must be on record in their configuration directory (outside every database): the
//! database's id, the profile's name, and every field that decides where the secret goes (kind,
//! address, reference, CA file, transport allowances). A profile changed in the database after
//! the approval (another address, another reference) is a different use and needs a new one.
//!
//! The approvals file is the user's: created owner-only (0600, directory 0700), and refused when
//! another user could have written it.

use std::path::{Path, PathBuf};

use bridle_brokers::{Profile, Transport};
use bridle_core::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The approvals file's format version.
const FORMAT_VERSION: u32 = 1;

/// One use of a credential: this profile of this database sends the secret behind `credential`
/// to `address`, with these TLS and transport choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialUse {
    /// The id of the database the profile is in (`meta.database_id`).
    pub database: String,
    pub profile: String,
    pub kind: String,
    pub address: String,
    /// The reference, as `env:NAME` / `file:PATH`.
    pub credential: String,
    pub ca_file: Option<String>,
    pub transport: Transport,
}

impl CredentialUse {
    /// The use `profile` of database `database` makes of its credential; `None` for a profile
    /// without one (it sends no secret).
    pub fn of(database: &str, profile: &Profile) -> Option<CredentialUse> {
        let credential = profile.credential.as_ref()?;
        Some(CredentialUse {
            database: database.to_owned(),
            profile: profile.name.clone(),
            kind: profile.kind.as_str().to_owned(),
            address: profile.address.to_string(),
            credential: credential.to_string(),
            ca_file: profile
                .tls
                .ca_file
                .as_ref()
                .map(|p| p.display().to_string()),
            transport: profile.transport,
        })
    }
}

/// A use the local user approved, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialApproval {
    #[serde(flatten)]
    pub approved: CredentialUse,
    pub approved_at: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
struct ApprovalsFile {
    version: u32,
    approvals: Vec<CredentialApproval>,
}

/// Why the approvals file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalsError {
    #[error("{path}: {reason}")]
    Unusable { path: PathBuf, reason: String },
}

/// The local user's approvals file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalApprovals {
    path: PathBuf,
}

impl LocalApprovals {
    pub fn at(path: impl Into<PathBuf>) -> LocalApprovals {
        LocalApprovals { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn unusable(&self, reason: impl Into<String>) -> ApprovalsError {
        ApprovalsError::Unusable {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// Every approval on record; none when the file does not exist yet.
    pub fn load(&self) -> Result<Vec<CredentialApproval>, ApprovalsError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.unusable(format!("cannot read: {e}"))),
        };
        let metadata = file
            .metadata()
            .map_err(|e| self.unusable(format!("cannot read: {e}")))?;
        if !metadata.is_file() {
            return Err(self.unusable("not a regular file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let user = rustix::process::geteuid().as_raw();
            if metadata.uid() != user {
                return Err(self.unusable(format!(
                    "belongs to uid {}, not to the user running Bridle (uid {user}); approvals are \
                     honoured only from the user's own file",
                    metadata.uid()
                )));
            }
            if metadata.mode() & 0o022 != 0 {
                return Err(self.unusable(format!(
                    "other users may write it (mode {:o}); make it private: chmod 600",
                    metadata.mode() & 0o777
                )));
            }
        }
        let parsed: ApprovalsFile = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| self.unusable(format!("not an approvals file: {e}")))?;
        if parsed.version != FORMAT_VERSION {
            return Err(self.unusable(format!(
                "format version {} (this Bridle reads version {FORMAT_VERSION})",
                parsed.version
            )));
        }
        Ok(parsed.approvals)
    }

    /// The approval on record for exactly the use `wanted`, if any.
    pub fn find(
        &self,
        wanted: &CredentialUse,
    ) -> Result<Option<CredentialApproval>, ApprovalsError> {
        Ok(self.load()?.into_iter().find(|a| &a.approved == wanted))
    }

    /// Records the approval of `approved` at `at`, replacing any earlier one for the same
    /// database and profile.
    pub fn record(&self, approved: &CredentialUse, at: Timestamp) -> Result<(), ApprovalsError> {
        let mut approvals = self.load()?;
        approvals.retain(|a| {
            !(a.approved.database == approved.database && a.approved.profile == approved.profile)
        });
        approvals.push(CredentialApproval {
            approved: approved.clone(),
            approved_at: at,
        });
        self.store(approvals)
    }

    /// Removes the approval for `profile` of `database`; whether there was one.
    pub fn withdraw(&self, database: &str, profile: &str) -> Result<bool, ApprovalsError> {
        let mut approvals = self.load()?;
        let before = approvals.len();
        approvals.retain(|a| !(a.approved.database == database && a.approved.profile == profile));
        if approvals.len() == before {
            return Ok(false);
        }
        self.store(approvals)?;
        Ok(true)
    }

    fn store(&self, mut approvals: Vec<CredentialApproval>) -> Result<(), ApprovalsError> {
        approvals.sort_by(|a, b| {
            (&a.approved.database, &a.approved.profile)
                .cmp(&(&b.approved.database, &b.approved.profile))
        });
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir(dir)
                .map_err(|e| self.unusable(format!("cannot create its directory: {e}")))?;
        }
        let mut text = serde_json::to_vec_pretty(&ApprovalsFile {
            version: FORMAT_VERSION,
            approvals,
        })
        .expect("approvals serialize");
        text.push(b'\n');
        crate::files::write_private(&self.path, &text)
            .map_err(|e| self.unusable(format!("cannot write: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bridle_brokers::{BrokerKind, SecretRef, TlsOptions};

    use super::*;

    fn profile(address: &str, credential: &str) -> Profile {
        Profile {
            name: "vault".into(),
            kind: BrokerKind::Openbao,
            address: url::Url::parse(address).unwrap(),
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            credential: Some(SecretRef::parse(credential).unwrap()),
            settings: serde_json::Map::new(),
            transport: Transport::default(),
        }
    }

    fn at() -> Timestamp {
        bridle_core::time::parse_utc("2026-12-01T10:00:00Z").unwrap()
    }

    #[test]
    fn an_approval_covers_one_database_profile_address_and_reference() {
        let dir = tempfile::tempdir().unwrap();
        let approvals = LocalApprovals::at(dir.path().join("config/approvals.json"));
        let approved = profile("http://127.0.0.1:8200", "env:VAULT_TOKEN");
        let wanted = CredentialUse::of("db-1", &approved).unwrap();
        assert_eq!(approvals.find(&wanted).unwrap(), None, "nothing before");
        approvals.record(&wanted, at()).unwrap();
        assert_eq!(approvals.find(&wanted).unwrap().unwrap().approved_at, at());

        // Another database, address, reference or transport is another use.
        let other_db = CredentialUse::of("db-2", &approved).unwrap();
        assert_eq!(approvals.find(&other_db).unwrap(), None);
        let moved = profile("http://127.0.0.1:9999", "env:VAULT_TOKEN");
        let moved = CredentialUse::of("db-1", &moved).unwrap();
        assert_eq!(approvals.find(&moved).unwrap(), None);
        let other_secret = profile("http://127.0.0.1:8200", "file:/home/u/.ssh/id_ed25519");
        let other_secret = CredentialUse::of("db-1", &other_secret).unwrap();
        assert_eq!(approvals.find(&other_secret).unwrap(), None);
        let mut proxied = approved.clone();
        proxied.transport.use_proxy = true;
        let proxied = CredentialUse::of("db-1", &proxied).unwrap();
        assert_eq!(approvals.find(&proxied).unwrap(), None);

        // A new approval for the same profile replaces the old one; withdrawing removes it.
        approvals.record(&moved, at()).unwrap();
        assert_eq!(approvals.find(&wanted).unwrap(), None);
        assert!(approvals.find(&moved).unwrap().is_some());
        assert!(approvals.withdraw("db-1", "vault").unwrap());
        assert!(!approvals.withdraw("db-1", "vault").unwrap());
        assert_eq!(approvals.load().unwrap(), Vec::new());
    }

    #[test]
    fn a_profile_without_a_credential_needs_no_approval() {
        let mut open = profile("http://127.0.0.1:8200", "env:X");
        open.credential = None;
        assert_eq!(CredentialUse::of("db", &open), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_refused_when_others_may_write_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg/approvals.json");
        let approvals = LocalApprovals::at(&path);
        let wanted = CredentialUse::of("db", &profile("https://vault.example", "env:T")).unwrap();
        approvals.record(&wanted, at()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let error = approvals.find(&wanted).unwrap_err().to_string();
        assert!(error.contains("other users may write it"), "{error}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"{\"version\": 7, \"approvals\": []}").unwrap();
        let error = approvals.load().unwrap_err().to_string();
        assert!(error.contains("format version 7"), "{error}");
    }
}
