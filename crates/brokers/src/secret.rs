//! Credentials are referenced, never stored: a profile keeps where the secret lives (an environment
//! variable or a file), and the secret is read only when a request needs it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::BrokerError;

/// Where a broker credential lives. Stored in the profile; the value never is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum SecretRef {
    /// An environment variable of the process that syncs.
    Env { name: String },
    /// A file whose contents (trimmed) are the secret.
    File { path: PathBuf },
    /// An OS keychain entry (Secret Service); fails clearly where no keychain is available.
    Keychain { service: String, account: String },
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env { name } => write!(f, "env:{name}"),
            SecretRef::File { path } => write!(f, "file:{}", path.display()),
            SecretRef::Keychain { service, account } => write!(f, "keychain:{service}/{account}"),
        }
    }
}

impl SecretRef {
    /// Parses the CLI form: `env:NAME`, `file:PATH` or `keychain:SERVICE/ACCOUNT`.
    pub fn parse(text: &str) -> Result<SecretRef, String> {
        let (scheme, rest) = text.split_once(':').ok_or_else(|| {
            format!("`{text}`: expected env:NAME, file:PATH or keychain:SERVICE/ACCOUNT")
        })?;
        if rest.is_empty() {
            return Err(format!("`{text}`: nothing after `{scheme}:`"));
        }
        match scheme {
            "env" => Ok(SecretRef::Env {
                name: rest.to_owned(),
            }),
            "file" => Ok(SecretRef::File {
                path: PathBuf::from(rest),
            }),
            "keychain" => {
                let (service, account) = rest
                    .split_once('/')
                    .ok_or_else(|| format!("`{text}`: expected keychain:SERVICE/ACCOUNT"))?;
                Ok(SecretRef::Keychain {
                    service: service.to_owned(),
                    account: account.to_owned(),
                })
            }
            other => Err(format!(
                "`{text}`: unknown secret source `{other}` (env, file or keychain)"
            )),
        }
    }

    /// Reads the secret now.
    pub fn resolve(&self) -> Result<Secret, BrokerError> {
        let fail = |reason: String| BrokerError::Credential {
            reference: self.to_string(),
            reason,
        };
        let value = match self {
            SecretRef::Env { name } => std::env::var(name)
                .map_err(|_| fail("the environment variable is not set (or not UTF-8)".into()))?,
            SecretRef::File { path } => read_credential_file(path).map_err(fail)?,
            SecretRef::Keychain { .. } => {
                return Err(fail(
                    "OS keychain references are not supported in this build; use env:NAME or file:PATH"
                        .into(),
                ));
            }
        };
        let value = Zeroizing::new(value);
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(fail("the secret is empty".into()));
        }
        Ok(Secret(Zeroizing::new(trimmed.to_owned())))
    }
}

/// The largest credential file Bridle reads (a token or client secret is far smaller).
pub const MAX_CREDENTIAL_FILE_BYTES: u64 = 64 * 1024;

/// Reads a `file:` credential: a regular file (a symlink to one is followed, a directory, FIFO or
/// device is not), owned by the user running Bridle and not readable or writable by anyone
/// else, at most [`MAX_CREDENTIAL_FILE_BYTES`]. The checks are made on the opened file, so the
/// file checked is the file read.
fn read_credential_file(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if !metadata.is_file() {
        return Err("not a regular file".into());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let user = rustix::process::geteuid().as_raw();
        if metadata.uid() != user {
            return Err(format!(
                "the file belongs to uid {}, not to the user running Bridle (uid {user})",
                metadata.uid()
            ));
        }
        if metadata.mode() & 0o077 != 0 {
            return Err(format!(
                "the file is open to other users (mode {:o}); make it private: chmod 600",
                metadata.mode() & 0o777
            ));
        }
    }
    if metadata.len() > MAX_CREDENTIAL_FILE_BYTES {
        return Err(format!(
            "the file is {} bytes; a credential file holds at most {MAX_CREDENTIAL_FILE_BYTES}",
            metadata.len()
        ));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(metadata.len() as usize));
    file.take(MAX_CREDENTIAL_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_CREDENTIAL_FILE_BYTES {
        return Err(format!(
            "the file holds more than {MAX_CREDENTIAL_FILE_BYTES} bytes"
        ));
    }
    String::from_utf8(std::mem::take(&mut *bytes))
        .map_err(|_| "the file is not UTF-8 text".to_owned())
}

/// A secret value in memory. It prints as `[redacted]` however it is formatted, so it cannot
/// reach a log line, an error or an export by accident; [`Secret::expose`] is the one way out,
/// used where the value goes into a request header or body. Its memory is overwritten when it
/// is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("s.hunter2");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert_eq!(secret.expose(), "s.hunter2");
    }

    #[test]
    fn references_parse_and_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  root-token\n").unwrap();
        private(&file);
        let reference = SecretRef::parse(&format!("file:{}", file.display())).unwrap();
        assert_eq!(reference.resolve().unwrap().expose(), "root-token");

        let missing = SecretRef::parse("env:BRIDLE_TEST_SURELY_UNSET_VARIABLE").unwrap();
        let error = missing.resolve().unwrap_err().to_string();
        assert!(
            error.contains("env:BRIDLE_TEST_SURELY_UNSET_VARIABLE"),
            "{error}"
        );

        assert!(SecretRef::parse("token").is_err());
        assert!(SecretRef::parse("vault:x").is_err());
        assert!(
            SecretRef::parse("keychain:bridle/bao")
                .unwrap()
                .resolve()
                .is_err()
        );
    }

    fn private(path: &std::path::Path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_credential_file_must_be_a_private_regular_file_of_bounded_size() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let resolve = |path: &std::path::Path| {
            SecretRef::File {
                path: path.to_owned(),
            }
            .resolve()
        };
        let open = dir.path().join("open");
        std::fs::write(&open, "tok-xyz").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = resolve(&open).unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");
        assert!(!error.contains("tok-xyz"), "{error}");
        let error = resolve(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; MAX_CREDENTIAL_FILE_BYTES as usize + 1]).unwrap();
        private(&big);
        assert!(resolve(&big).unwrap_err().to_string().contains("at most"));
        let fine = dir.path().join("fine");
        std::fs::write(&fine, "s.token\n").unwrap();
        private(&fine);
        assert_eq!(resolve(&fine).unwrap().expose(), "s.token");
        // A symlink to a private file is the file it names.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fine, &link).unwrap();
        assert_eq!(resolve(&link).unwrap().expose(), "s.token");
    }
}
