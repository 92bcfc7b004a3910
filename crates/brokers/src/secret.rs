//! Credentials are referenced, never stored: a profile keeps where the secret lives (an environment
//! variable or a file), and the secret is read only when a request needs it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
            SecretRef::File { path } => std::fs::read_to_string(path)
                .map_err(|e| fail(format!("cannot read the file: {e}")))?,
            SecretRef::Keychain { .. } => {
                return Err(fail(
                    "OS keychain references are not supported in this build; use env:NAME or file:PATH"
                        .into(),
                ));
            }
        };
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(fail("the secret is empty".into()));
        }
        Ok(Secret(value))
    }
}

/// A secret value in memory. It prints as `[redacted]` however it is formatted, so it cannot
/// reach a log line, an error or an export by accident; [`Secret::expose`] is the one way out,
/// used where the value goes into a request header or body.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
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
}
