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

    /// The settings a profile of this kind may carry: an allow-list, so nothing else (a secret
    /// above all) is stored in the database as a setting.
    pub fn settings(self) -> &'static [&'static str] {
        match self {
            // `max_items`, `max_depth`: the crawl limits ([`crate::limits::CrawlLimits`]).
            BrokerKind::Openbao => &["namespace", "environment", "max_items", "max_depth"],
            BrokerKind::Oidc => &["client_id", "scope", "audience", "resource"],
            BrokerKind::Mcp => &[],
        }
    }

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

/// What a profile allows beyond the defaults, each chosen when the profile is created and
/// recorded in it (and in its audit entry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transport {
    /// Plain `http://` to a host that is not loopback (tokens then travel in clear text).
    #[serde(default)]
    pub allow_http: bool,
    /// Honour `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`; otherwise Bridle connects
    /// directly, whatever the environment says.
    #[serde(default)]
    pub use_proxy: bool,
    /// OIDC: accept a `token_endpoint` or `jwks_uri` on another origin than the issuer's
    /// (still https, or loopback http).
    #[serde(default)]
    pub allow_other_origins: bool,
}

/// Whether `url`'s host is a loopback address (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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
    /// What this profile allows beyond the transport rules' defaults.
    #[serde(default)]
    pub transport: Transport,
}

impl Profile {
    /// The import source its syncs write to.
    pub fn source(&self) -> String {
        format!("broker:{}", self.name)
    }

    /// The rules every profile obeys before Bridle connects, wherever the profile came from (a
    /// database is input too): `http`/`https` with a host; no user, password, query or fragment in
    /// the address; plain http only to loopback unless the profile allows it; only the settings
    /// of its kind, and an OpenBao/Vault profile's crawl limits in range.
    pub fn check(&self) -> Result<(), BrokerError> {
        let refuse = |message: String| BrokerError::Config {
            profile: self.name.clone(),
            message,
        };
        let address = &self.address;
        if !matches!(address.scheme(), "http" | "https") || address.host().is_none() {
            return Err(refuse(format!(
                "address `{address}`: expected an http:// or https:// URL with a host"
            )));
        }
        if !address.username().is_empty() || address.password().is_some() {
            return Err(refuse(
                "the address carries a user or password; give the credential with --credential \
                 env:NAME or file:PATH, never in the URL (it would be stored and audited)"
                    .to_owned(),
            ));
        }
        if address.query().is_some() || address.fragment().is_some() {
            return Err(refuse(format!(
                "address `{}`: a query or fragment is not allowed in a broker address",
                shown_address(address)
            )));
        }
        if address.scheme() == "http" && !is_loopback(address) && !self.transport.allow_http {
            return Err(refuse(format!(
                "address `{address}`: plain http is allowed only to a loopback address (tokens would \
                 travel in clear text); use https, or create the profile with --allow-http"
            )));
        }
        let allowed = self.kind.settings();
        if let Some(key) = self
            .settings
            .keys()
            .find(|k| !allowed.contains(&k.as_str()))
        {
            return Err(refuse(format!(
                "setting `{key}` is not a setting of a {} broker (allowed: {})",
                self.kind.as_str(),
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        if self.kind == BrokerKind::Openbao {
            crate::limits::CrawlLimits::of(self)?;
        }
        Ok(())
    }

    /// Whether Bridle may call `endpoint`, an address the broker itself named (OIDC discovery's
    /// `token_endpoint`, `jwks_uri`): on the profile's own origin, or with
    /// `allow_other_origins` on any https origin (or loopback http).
    pub fn check_endpoint(&self, field: &str, endpoint: &str) -> Result<url::Url, BrokerError> {
        let refuse = |message: String| BrokerError::Config {
            profile: self.name.clone(),
            message,
        };
        let url = url::Url::parse(endpoint)
            .map_err(|e| refuse(format!("`{field}` `{endpoint}`: {e}")))?;
        if url.origin() == self.address.origin() {
            return Ok(url);
        }
        let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
        if self.transport.allow_other_origins && secure && url.username().is_empty() {
            return Ok(url);
        }
        Err(refuse(format!(
            "`{field}` {} is not on the issuer's origin {}; Bridle sends the client credential \
             only there (create the profile with --allow-other-origins to accept another https \
             origin)",
            shown_address(&url),
            self.address.origin().ascii_serialization()
        )))
    }

    /// The HTTP client for this profile: its timeouts and CA, certificate checks always on, no
    /// proxy unless the profile says so. Refuses a profile that breaks [`Profile::check`].
    pub fn http_client(&self) -> Result<reqwest::Client, BrokerError> {
        self.check()?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bridle/", env!("CARGO_PKG_VERSION")));
        if !self.transport.use_proxy {
            builder = builder.no_proxy();
        }
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

    /// `error` with this profile's credential, in every form a request carried it, replaced by
    /// `[redacted]` (the credential is read again for this; a broker may echo a request's
    /// headers or body into its error answer). Every connector's public function ends with it.
    pub fn redact(&self, error: BrokerError) -> BrokerError {
        match self.credential.as_ref().map(SecretRef::resolve) {
            Some(Ok(secret)) => error.redact(&[secret.expose()], self.setting("client_id")),
            _ => error,
        }
    }

    /// A setting as a string, if present.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(serde_json::Value::as_str)
    }
}

/// An address for an error message: scheme, host, port and path, never a user, password or
/// query.
fn shown_address(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod transport_tests {
    use super::*;

    fn profile(kind: BrokerKind, address: &str) -> Profile {
        Profile {
            name: "p".into(),
            kind,
            address: url::Url::parse(address).unwrap(),
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            credential: None,
            settings: serde_json::Map::new(),
            transport: Transport::default(),
        }
    }

    fn refused(p: &Profile) -> String {
        p.check().unwrap_err().to_string()
    }

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8200",
            "http://127.8.9.1",
            "http://localhost:9000/mcp",
            "http://[::1]:8200",
            "https://bao.example:8200",
        ] {
            assert!(profile(BrokerKind::Openbao, ok).check().is_ok(), "{ok}");
        }
        let mut remote = profile(BrokerKind::Openbao, "http://bao.example:8200");
        assert!(refused(&remote).contains("--allow-http"));
        remote.transport.allow_http = true;
        assert!(remote.check().is_ok());
        // A host that only looks local is not loopback.
        assert!(
            profile(BrokerKind::Mcp, "http://127.0.0.1.example.com/mcp")
                .check()
                .is_err()
        );
        assert!(
            profile(BrokerKind::Mcp, "http://0.0.0.0:9000")
                .check()
                .is_err()
        );
    }

    #[test]
    fn credentials_queries_and_unknown_settings_in_a_profile_are_refused() {
        let with_password = profile(BrokerKind::Openbao, "https://user:hunter2@bao.example");
        let message = refused(&with_password);
        assert!(message.contains("user or password"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let with_query = profile(BrokerKind::Mcp, "https://tools.example/mcp?token=abc");
        let message = refused(&with_query);
        assert!(message.contains("query"), "{message}");
        assert!(!message.contains("abc"), "{message}");
        let mut oidc = profile(BrokerKind::Oidc, "https://issuer.example");
        oidc.settings.insert("client_id".into(), "bridle".into());
        assert!(oidc.check().is_ok());
        oidc.settings.insert("client_secret".into(), "x".into());
        assert!(refused(&oidc).contains("not a setting of a oidc broker"));
        let mut mcp = profile(BrokerKind::Mcp, "https://tools.example/mcp");
        mcp.settings.insert("namespace".into(), "a".into());
        assert!(refused(&mcp).contains("allowed: none"));
        // The client a planted profile would get is refused the same way.
        assert!(with_password.http_client().is_err());
    }

    #[test]
    fn endpoints_named_by_an_issuer_stay_on_its_origin() {
        let mut issuer = profile(BrokerKind::Oidc, "https://issuer.example/realms/a");
        assert!(
            issuer
                .check_endpoint("jwks_uri", "https://issuer.example/keys")
                .is_ok()
        );
        for elsewhere in [
            "https://attacker.example/token",
            "http://issuer.example/token",
            "https://issuer.example:8443/token",
        ] {
            let message = issuer
                .check_endpoint("token_endpoint", elsewhere)
                .unwrap_err()
                .to_string();
            assert!(message.contains("--allow-other-origins"), "{message}");
        }
        issuer.transport.allow_other_origins = true;
        assert!(
            issuer
                .check_endpoint("token_endpoint", "https://login.example/token")
                .is_ok()
        );
        assert!(
            issuer
                .check_endpoint("token_endpoint", "http://login.example/token")
                .is_err()
        );
        let local = profile(BrokerKind::Oidc, "http://127.0.0.1:5556");
        assert!(
            local
                .check_endpoint("jwks_uri", "http://127.0.0.1:5556/keys")
                .is_ok()
        );
    }
}
