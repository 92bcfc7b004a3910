//! Every way a broker read can fail, each naming the broker address and what was asked, never the
//! credential.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("profile {profile}: {message}")]
    Config { profile: String, message: String },
    #[error("credential {reference}: {reason}")]
    Credential { reference: String, reason: String },
    #[error("TLS setup for {address}: {reason}")]
    Tls { address: String, reason: String },
    #[error("cannot connect to {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("{address}{path}: no answer within {after:?}")]
    Timeout {
        address: String,
        path: String,
        after: Duration,
    },
    #[error("{address}{path}: HTTP {status}: {message}")]
    Status {
        address: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{address}{path}: malformed answer: {detail}")]
    Malformed {
        address: String,
        path: String,
        detail: String,
    },
    /// A JSON-RPC error answer (MCP): the server understood the request and refused it.
    #[error("{address}: `{method}` answered JSON-RPC error {code}: {message}")]
    Rpc {
        address: String,
        method: String,
        code: i64,
        message: String,
    },
    /// A file importer's input problem, located (`FILE: $.entries[3].spiffe_id: …`).
    #[error("{file}: {location}: {message}")]
    File {
        file: String,
        location: String,
        message: String,
    },
}

impl BrokerError {
    /// The same error with every string passed through `scrub`.
    fn map_text(self, scrub: impl Fn(String) -> String) -> BrokerError {
        use BrokerError::*;
        match self {
            Config { profile, message } => Config {
                profile,
                message: scrub(message),
            },
            Credential { reference, reason } => Credential {
                reference,
                reason: scrub(reason),
            },
            Tls { address, reason } => Tls {
                address: scrub(address),
                reason: scrub(reason),
            },
            Connect { address, reason } => Connect {
                address: scrub(address),
                reason: scrub(reason),
            },
            Timeout {
                address,
                path,
                after,
            } => Timeout {
                address: scrub(address),
                path: scrub(path),
                after,
            },
            Status {
                address,
                path,
                status,
                message,
            } => Status {
                address: scrub(address),
                path: scrub(path),
                status,
                message: scrub(message),
            },
            Malformed {
                address,
                path,
                detail,
            } => Malformed {
                address: scrub(address),
                path: scrub(path),
                detail: scrub(detail),
            },
            Rpc {
                address,
                method,
                code,
                message,
            } => Rpc {
                address: scrub(address),
                method: scrub(method),
                code,
                message: scrub(message),
            },
            File {
                file,
                location,
                message,
            } => File {
                file,
                location,
                message: scrub(message),
            },
        }
    }

    /// The same error with every form of `secrets` in which a request carried them (as they
    /// are, percent- and form-encoded, base64, and inside HTTP Basic with `basic_user`)
    /// replaced by `[redacted]`, including a secret cut off at the end of a truncated excerpt.
    /// Brokers may echo a request's headers or body into their error answers.
    pub fn redact(self, secrets: &[&str], basic_user: Option<&str>) -> BrokerError {
        use base64::Engine as _;
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let mut forms: Vec<zeroize::Zeroizing<String>> = Vec::new();
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            let base64 = base64::engine::general_purpose::STANDARD;
            forms.push(zeroize::Zeroizing::new((*secret).to_owned()));
            forms.push(zeroize::Zeroizing::new(encode(secret)));
            forms.push(zeroize::Zeroizing::new(base64.encode(secret)));
            if let Some(user) = basic_user {
                forms.push(zeroize::Zeroizing::new(base64.encode(format!(
                    "{}:{}",
                    encode(user),
                    encode(secret)
                ))));
                forms.push(zeroize::Zeroizing::new(
                    base64.encode(format!("{user}:{secret}")),
                ));
            }
        }
        // Longest first, so a form that contains another is replaced whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        if forms.is_empty() {
            return self;
        }
        self.map_text(|text| scrub(text, &forms))
    }
}

const REDACTED: &str = "[redacted]";

fn scrub(mut text: String, forms: &[zeroize::Zeroizing<String>]) -> String {
    for form in forms {
        if text.contains(form.as_str()) {
            text = text.replace(form.as_str(), REDACTED);
        }
    }
    // A truncated excerpt may end inside a secret: drop a tail that begins one.
    for form in forms {
        let tail = (4..form.len())
            .rev()
            .filter(|&n| form.is_char_boundary(n))
            .find(|&n| text.ends_with(&form[..n]));
        if let Some(n) = tail {
            text.truncate(text.len() - n);
            text.push_str(REDACTED);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_redacted_from_every_field() {
        use base64::Engine as _;
        let secret = "s3cr3t/value+x";
        let b64 = base64::engine::general_purpose::STANDARD;
        let basic = b64.encode("client%3A1:s3cr3t%2Fvalue%2Bx");
        let error = BrokerError::Status {
            address: "https://idp.example".into(),
            path: "/token".into(),
            status: 400,
            message: format!(
                "echo: Authorization: Basic {basic}; Bearer {secret}; body client_secret=s3cr3t%2Fvalue%2Bx; b64 {}; cut s3cr3t/va",
                b64.encode(secret)
            ),
        }
        .redact(&[secret], Some("client:1"));
        let text = error.to_string();
        for leak in ["s3cr3t", &basic, &b64.encode(secret)] {
            assert!(!text.contains(leak), "{text}");
        }
        assert!(text.ends_with("cut [redacted]"), "{text}");
        assert_eq!(text.matches(REDACTED).count(), 5, "{text}");
    }
}
