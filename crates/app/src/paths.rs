//! Where Bridle keeps its files: the platform data directory unless told otherwise.

use std::path::PathBuf;

use directories::ProjectDirs;

use crate::error::{ApiError, ErrorCode, api_error};

/// The files of one user's Bridle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPaths {
    /// The platform data directory, e.g. `~/.local/share/bridle`.
    pub data_dir: PathBuf,
    /// The inventory database (`--db`, `BRIDLE_DB`, or `bridle.db` in the data directory).
    pub database: PathBuf,
    /// The demo database, kept apart from the real inventory.
    pub demo_database: PathBuf,
    /// The key that authenticates the audit anchor, outside any database.
    pub audit_key: PathBuf,
    /// The desktop app's log file.
    pub log_file: PathBuf,
    /// The broker credentials this user approved (in the platform configuration directory,
    /// e.g. `~/.config/bridle/broker-credentials.json`): outside every database, so a database
    /// cannot approve its own profiles.
    pub credential_approvals: PathBuf,
}

impl DataPaths {
    /// Resolves the paths; `database` is the `--db`/`BRIDLE_DB` override when given, and
    /// `audit_key` the `BRIDLE_AUDIT_KEY_FILE` override.
    pub fn resolve(
        database: Option<PathBuf>,
        audit_key: Option<PathBuf>,
    ) -> Result<DataPaths, ApiError> {
        let dirs = ProjectDirs::from("", "", "bridle").ok_or_else(|| {
            api_error(
                ErrorCode::Internal,
                "cannot find a home directory for Bridle's data; pass --db PATH and set BRIDLE_AUDIT_KEY_FILE",
            )
        })?;
        let data_dir = dirs.data_dir().to_owned();
        Ok(DataPaths {
            credential_approvals: dirs.config_dir().join("broker-credentials.json"),
            database: database.unwrap_or_else(|| data_dir.join("bridle.db")),
            demo_database: data_dir.join("demo.db"),
            audit_key: audit_key.unwrap_or_else(|| data_dir.join("audit.key")),
            log_file: data_dir.join("bridle.log"),
            data_dir,
        })
    }

    /// Creates the directory that will hold `path` (owner-only when created here), so SQLite
    /// can create the file.
    pub fn ensure_parent(path: &std::path::Path) -> Result<(), ApiError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::create_private_dir(dir).map_err(|e| {
                api_error(
                    ErrorCode::InvalidInput,
                    format!("cannot create {}: {e}", dir.display()),
                )
            })?;
        }
        Ok(())
    }
}
