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
    /// An answer longer than the cap for its broker kind ([`crate::limits`]): Bridle stopped
    /// reading it rather than hold it all in memory.
    #[error(
        "{address}{path}: the answer is larger than {}; Bridle stopped reading it",
        crate::limits::shown_limit(*.limit, .answer)
    )]
    BodyTooLarge {
        address: String,
        path: String,
        /// The cap in bytes.
        limit: u64,
        /// What kind of answer the cap is for ("an OpenBao/Vault response").
        answer: &'static str,
    },
    /// A crawl went past a profile's crawl limit ([`crate::limits::CrawlLimits`]): the read
    /// fails whole rather than keep part of the broker as if it were all of it.
    #[error(
        "{address}: {}; Bridle stopped reading rather than keep an incomplete inventory. Raise the limit \
         with the profile setting `{setting}` (`--setting {setting}=N` on `bridle broker add`, \
         at most {ceiling})",
        crawl_limit_passed(*.limit, *.value, .crawled, .location),
        setting = .limit.setting(),
        ceiling = .limit.ceiling()
    )]
    CrawlLimit {
        address: String,
        limit: crate::limits::CrawlLimit,
        /// The limit's value for this profile.
        value: usize,
        /// What was being crawled ("KV secrets and folders", "leases and lease prefixes").
        crawled: &'static str,
        /// Where the limit was hit: the KV folder or lease prefix (`secret/app/`), or the LIST
        /// path (`auth/token/accessors`).
        location: String,
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
            BodyTooLarge {
                address,
                path,
                limit,
                answer,
            } => BodyTooLarge {
                address: scrub(address),
                path: scrub(path),
                limit,
                answer,
            },
            CrawlLimit {
                address,
                limit,
                value,
                crawled,
                location,
            } => CrawlLimit {
                address: scrub(address),
                limit,
                value,
                crawled,
                location: scrub(location),
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

/// What went past a crawl limit: `more than 2000 KV secrets and folders (the limit `max_items`,
/// reached at `secret/app/`)`, ``secret/a/…/` is more than 32 folders deep (the limit `max_depth`)`.
fn crawl_limit_passed(
    limit: crate::limits::CrawlLimit,
    value: usize,
    crawled: &str,
    location: &str,
) -> String {
    let setting = limit.setting();
    match limit {
        crate::limits::CrawlLimit::Items => {
            format!("more than {value} {crawled} (the limit `{setting}`, reached at `{location}`)")
        }
        crate::limits::CrawlLimit::Depth => format!(
            "{crawled} `{location}` is more than {value} folders deep (the limit `{setting}`)"
        ),
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

    #[test]
    fn the_limit_errors_are_redacted_like_every_other() {
        let secret = "hunter2-token";
        let too_large = BrokerError::BodyTooLarge {
            address: format!("http://127.0.0.1:8200/{secret}"),
            path: format!("/v1/secret/data/{secret}"),
            limit: 8 * 1024 * 1024,
            answer: "an OpenBao/Vault response",
        }
        .redact(&[secret], None);
        assert_eq!(
            too_large.to_string(),
            "http://127.0.0.1:8200/[redacted]/v1/secret/data/[redacted]: the answer is larger \
             than 8 MiB (8388608 bytes, the limit for an OpenBao/Vault response); Bridle stopped \
             reading it"
        );
        let crawl = BrokerError::CrawlLimit {
            address: "http://127.0.0.1:8200".into(),
            limit: crate::limits::CrawlLimit::Depth,
            value: 32,
            crawled: "KV folder",
            location: format!("secret/{secret}/"),
        }
        .redact(&[secret], None);
        let text = crawl.to_string();
        assert!(text.contains("KV folder `secret/[redacted]/`"), "{text}");
        assert!(!text.contains(secret), "{text}");
    }
}
