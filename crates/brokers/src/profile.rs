//! A connection profile: everything needed to reach one broker, except the secret itself.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{BrokerError, SecretRef};

/// The kinds of broker Bridle reads. Vault and OpenBao share one HTTP API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BrokerKind {
    /// OpenBao or HashiCorp Vault.
    Openbao,
    /// An OpenID Connect issuer (discovery, JWKS, optionally a client-credentials token).
    Oidc,
    /// An MCP tool server over the streamable HTTP transport.
    Mcp,
}

impl BrokerKind {
    pub const ALL: [BrokerKind; 3] = [BrokerKind::Openbao, BrokerKind::Oidc, BrokerKind::Mcp];

    pub fn as_str(self) -> &'static str {
        match self {
            BrokerKind::Openbao => "openbao",
            BrokerKind::Oidc => "oidc",
            BrokerKind::Mcp => "mcp",
        }
    }

    /// `vault` is accepted for OpenBao (same API).
    pub fn parse(text: &str) -> Option<BrokerKind> {
        match text {
            "openbao" | "vault" => Some(BrokerKind::Openbao),
            "oidc" => Some(BrokerKind::Oidc),
            "mcp" => Some(BrokerKind::Mcp),
            _ => None,
        }
    }
}

/// TLS options. There is deliberately no switch to accept invalid certificates: a private CA is
/// trusted by naming its certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsOptions {
    /// A PEM file with the CA certificate(s) to trust in addition to the system roots.
    pub ca_file: Option<PathBuf>,
}

/// One connection profile, as stored (no secret values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Unique name; also the import source of its syncs (`broker:<name>`).
    pub name: String,
    pub kind: BrokerKind,
    /// Base URL, e.g. `http://127.0.0.1:8200`, `https://issuer.example`, `http://127.0.0.1:9000/mcp`.
    pub address: url::Url,
    pub tls: TlsOptions,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Whole-request timeout (a hanging server fails the sync after this).
    pub request_timeout: Duration,
    /// Where the credential lives, if the broker needs one.
    pub credential: Option<SecretRef>,
    /// Kind-specific settings (e.g. an OIDC `client_id` and `scope`, a Vault namespace), a JSON
    /// object with string values.
    pub settings: serde_json::Map<String, serde_json::Value>,
}

impl Profile {
    /// The import source its syncs write to.
    pub fn source(&self) -> String {
        format!("broker:{}", self.name)
    }

    /// The HTTP client for this profile: its timeouts and CA, certificate checks always on.
    pub fn http_client(&self) -> Result<reqwest::Client, BrokerError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bridle/", env!("CARGO_PKG_VERSION")));
        if let Some(ca_file) = &self.tls.ca_file {
            let tls_error = |reason: String| BrokerError::Tls {
                address: self.address.to_string(),
                reason,
            };
            let pem = std::fs::read(ca_file).map_err(|e| {
                tls_error(format!("cannot read CA file {}: {e}", ca_file.display()))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| tls_error(format!("CA file {} is not PEM: {e}", ca_file.display())))?;
            if certificates.is_empty() {
                return Err(tls_error(format!(
                    "CA file {} holds no certificate",
                    ca_file.display()
                )));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        builder.build().map_err(|e| BrokerError::Tls {
            address: self.address.to_string(),
            reason: e.to_string(),
        })
    }

    /// A setting as a string, if present.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(serde_json::Value::as_str)
    }
}
