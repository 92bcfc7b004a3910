//! Opening, migrating and closing the database file.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::audit::AuditKey;
use crate::{Result, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// An open Bridle database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: SqlitePool,
    pub(crate) path: PathBuf,
    pub(crate) database_id: String,
    pub(crate) audit_key: AuditKey,
}

impl Store {
    /// Opens (creating when missing) the database at `path`, upgrading its schema after writing a
    /// backup copy next to it. A database written by a newer schema is refused untouched.
    pub async fn open(path: &Path, audit_key: AuditKey) -> Result<Store> {
        let existed = path.exists();
        let unusable = |reason: String| StoreError::Unusable {
            path: path.to_owned(),
            reason,
        };
        if existed {
            restrict_to_owner(path);
        } else {
            create_owner_only(path).map_err(|e| unusable(e.to_string()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|e| unusable(e.to_string()))?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Importing a million grants inserts into five indexes per table in key order that
            // is random for most of them; SQLite's default 2 MiB page cache then re-reads the
            // same index pages from the OS for every few rows. 64 MiB per connection (allocated
            // only as pages are touched) holds the hot index pages of a large estate.
            .pragma("cache_size", "-65536")
            // A database file is input: its schema must not make SQLite run functions with side
            // effects from views, triggers or indexes it defines.
            .pragma("trusted_schema", "OFF")
            // The desktop app and the CLI may write at the same time: wait for the other's short
            // transaction rather than fail.
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| unusable(e.to_string()))?;

        let applied = applied_migrations(&pool)
            .await
            .map_err(|e| unusable(e.to_string()))?;
        let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        if let Some(&found) = applied.iter().max()
            && found > known
        {
            pool.close().await;
            return Err(StoreError::NewerSchema {
                path: path.to_owned(),
                found,
                known,
            });
        }
        let pending = MIGRATOR.iter().any(|m| !applied.contains(&m.version));
        if existed && !applied.is_empty() && pending {
            let current = applied.iter().max().copied().unwrap_or(0);
            let backup = backup_path(path, current);
            tracing::info!(backup = %backup.display(), "backing up the database before upgrading its schema");
            // VACUUM INTO fills an empty file: created here owner-only, like the database.
            create_owner_only(&backup).map_err(|e| {
                unusable(format!(
                    "cannot create the backup {}: {e}",
                    backup.display()
                ))
            })?;
            sqlx::query("VACUUM INTO ?")
                .bind(backup.to_string_lossy().into_owned())
                .execute(&pool)
                .await?;
        }
        MIGRATOR.run(&pool).await?;

        let database_id = database_id(&pool).await?;
        Ok(Store {
            pool,
            path: path.to_owned(),
            database_id,
            audit_key,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The random id this database was given at creation; the audit anchor is bound to it.
    pub fn database_id(&self) -> &str {
        &self.database_id
    }

    /// Checkpoints the WAL into the main file and closes every connection, so the file on disk
    /// is complete when the process exits.
    pub async fn close(self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        self.pool.close().await;
        Ok(())
    }
}

/// `bridle.db` → `bridle.db.backup-schema-1.db`.
fn backup_path(path: &Path, version: i64) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".backup-schema-{version}.db"));
    path.with_file_name(name)
}

async fn applied_migrations(pool: &SqlitePool) -> Result<Vec<i64>, sqlx::Error> {
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = 1")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect()
}

async fn database_id(pool: &SqlitePool) -> Result<String> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'database_id'")
            .fetch_optional(pool)
            .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Unusable {
        path: PathBuf::new(),
        reason: format!("no randomness for the database id: {e}"),
    })?;
    let id = hex::encode(bytes);
    // Two processes creating the database at once: the first id wins.
    sqlx::query("INSERT OR IGNORE INTO meta (key, value) VALUES ('database_id', ?)")
        .bind(&id)
        .execute(pool)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'database_id'")
            .fetch_one(pool)
            .await?,
    )
}

/// Creates an empty database file readable and writable by its owner only (0600 on Unix); SQLite
/// gives the WAL and shared-memory files it creates next to it the same permissions. Fails
/// rather than follow a link or reuse a file that appeared in the meantime.
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    owner_only()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

/// Makes an existing database (and the WAL and shared-memory files beside it) owner-only when
/// an older Bridle, or another program, left it readable by others; a file of another user is
/// left alone (and said so in the log).
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![path.to_owned()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        for file in files {
            let Ok(metadata) = std::fs::symlink_metadata(&file) else {
                continue;
            };
            let mode = metadata.permissions().mode() & 0o777;
            if !metadata.is_file() || mode & 0o077 == 0 {
                continue;
            }
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700)) {
                Ok(()) => tracing::warn!(
                    file = %file.display(),
                    "the file was open to other users (mode {mode:o}); it is owner-only now"
                ),
                Err(error) => tracing::warn!(
                    file = %file.display(),
                    %error,
                    "the file is open to other users (mode {mode:o}) and cannot be restricted"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Open options whose newly created file is readable and writable by its owner only (0600 on
/// Unix): the database, the audit key, its anchors and lock, Bridle's log.
pub fn owner_only() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `dir` and its missing parents; the ones created here are owner-only (0700 on Unix).
/// The directories of the audit key, its anchors and the files Bridle writes are made this way.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
