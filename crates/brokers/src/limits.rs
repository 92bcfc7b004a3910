//! How much Bridle reads from a broker, in one place: the most bytes of one HTTP answer per broker
//! kind, and how many items and how many folders deep an OpenBao/Vault crawl (KV keys, leases,
//! token accessors) goes. A broker is input like any file: a server that answers without end, or
//! a key tree with a folder inside every folder, must end a sync with an error that names the
//! limit, not with Bridle out of memory or crawling for ever.
//!
//! Going past a limit fails the whole read: an inventory that silently holds part of a broker
//! would look like all of it.

use crate::{BrokerError, BrokerKind, Profile};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// The most bytes Bridle reads of one HTTP answer, and what such an answer is called in the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    pub bytes: u64,
    /// "an OpenBao/Vault response": completes "the limit for …".
    pub answer: &'static str,
}

/// OpenBao/Vault: 8 MiB. The largest answers of a sync are LIST answers (`auth/token/accessors`
/// holds one ~30-byte accessor per live token, a KV folder one name per key) and `sys/mounts`;
/// 8 MiB is about 250,000 accessors in one answer, far past the default crawl limit of 2,000
/// items, while a whole answer still fits in memory many times over. (A profile that raises
/// `max_items` past ~250,000 token accessors meets this cap first, with its own error.)
pub const OPENBAO_BODY_LIMIT: BodyLimit = BodyLimit {
    bytes: 8 * MIB,
    answer: "an OpenBao/Vault response",
};

/// OIDC: 1 MiB. A discovery document is a few KiB, a JWKS a few KiB per key (an RSA-4096 key with
/// its certificate chain is under 8 KiB), a token response a few KiB: 1 MiB is a hundred times
/// the largest real one.
pub const OIDC_BODY_LIMIT: BodyLimit = BodyLimit {
    bytes: MIB,
    answer: "an OIDC discovery document, JWKS or token response",
};

/// MCP: 4 MiB. One `tools/list` page carries every tool's description and JSON input schema;
/// servers with hundreds of tools answer a few hundred KiB per page, so 4 MiB leaves a factor of
/// ten. (An event stream is read whole too, so it is bounded by the same cap.)
pub const MCP_BODY_LIMIT: BodyLimit = BodyLimit {
    bytes: 4 * MIB,
    answer: "an MCP response",
};

impl BrokerKind {
    /// The cap on one HTTP answer from a broker of this kind.
    pub fn body_limit(self) -> BodyLimit {
        match self {
            BrokerKind::Openbao => OPENBAO_BODY_LIMIT,
            BrokerKind::Oidc => OIDC_BODY_LIMIT,
            BrokerKind::Mcp => MCP_BODY_LIMIT,
        }
    }
}

impl BodyLimit {
    /// The whole body of `response`, read chunk by chunk and abandoned (the connection dropped) as
    /// soon as it would pass the cap, or at once when its `Content-Length` already does. The
    /// error names `address` and `path`; a body that breaks off is `broken`'s error.
    pub(crate) async fn read(
        self,
        mut response: reqwest::Response,
        address: &str,
        path: &str,
        broken: impl Fn(&reqwest::Error) -> BrokerError,
    ) -> Result<Vec<u8>, BrokerError> {
        let too_large = || BrokerError::BodyTooLarge {
            address: address.to_owned(),
            path: path.to_owned(),
            limit: self.bytes,
            answer: self.answer,
        };
        let announced = response.content_length();
        if announced.is_some_and(|length| length > self.bytes) {
            return Err(too_large());
        }
        // The announced length is only a hint (a server may lie), so the cap is checked again
        // on every chunk; it also bounds what is reserved up front.
        let reserve = announced.unwrap_or(0).min(self.bytes);
        let mut body = Vec::with_capacity(usize::try_from(reserve).unwrap_or(0));
        while let Some(chunk) = response.chunk().await.map_err(|e| broken(&e))? {
            if (body.len() + chunk.len()) as u64 > self.bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// `8 MiB (8388608 bytes, the limit for an OpenBao/Vault response)`, `100 bytes (the limit for
/// …)`: a cap for an error message, in its largest whole unit and in bytes.
pub(crate) fn shown_limit(bytes: u64, answer: &str) -> String {
    let unit = |size: u64, name: &str| {
        (bytes >= size && bytes.is_multiple_of(size)).then(|| format!("{} {name}", bytes / size))
    };
    match unit(MIB, "MiB").or_else(|| unit(KIB, "KiB")) {
        Some(shown) => format!("{shown} ({bytes} bytes, the limit for {answer})"),
        None => format!("{bytes} bytes (the limit for {answer})"),
    }
}

/// How far an OpenBao/Vault crawl goes: the KV key trees (recursive LIST), the leases (recursive
/// LIST of `sys/leases/lookup`) and the token accessors, each counted on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrawlLimits {
    /// At most this many entries a crawl lists: for the KV trees (all mounts together) and the
    /// leases every secret or lease *and* every folder or prefix counts, since each costs a
    /// request; for the token accessors each accessor.
    pub max_items: usize,
    /// At most this many folders deep below a KV mount, or below `sys/leases/lookup/`.
    pub max_depth: usize,
}

/// 2,000 items: each costs a request (a LIST, a KV metadata read, a token or lease lookup), and
/// the mapping decides every principal's access to every KV path, so this keeps a default sync
/// to seconds and its work to principals × 2,000 paths. A larger broker raises it per profile.
pub const DEFAULT_MAX_ITEMS: usize = 2_000;
/// 32 folders: real KV trees are named by people and rarely pass ten levels; lease prefixes
/// follow the mount path plus a role (`auth/token/create/`, `database/creds/app/`). 32 stops a
/// server that answers a folder inside every folder long before the depth is absurd.
pub const DEFAULT_MAX_DEPTH: usize = 32;
/// The most `max_items` a profile may set: a million requests is already hours of syncing.
pub const MAX_ITEMS_CEILING: usize = 1_000_000;
/// The most `max_depth` a profile may set.
pub const MAX_DEPTH_CEILING: usize = 256;

impl Default for CrawlLimits {
    fn default() -> CrawlLimits {
        CrawlLimits {
            max_items: DEFAULT_MAX_ITEMS,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl CrawlLimits {
    /// The limits an OpenBao/Vault profile sets with its `max_items` and `max_depth` settings
    /// (strings holding a whole number), the defaults where it sets none. Zero, a value past
    /// the ceiling, or anything but a number is a [`BrokerError::Config`] naming the setting.
    pub fn of(profile: &Profile) -> Result<CrawlLimits, BrokerError> {
        let setting = |limit: CrawlLimit, default: usize| -> Result<usize, BrokerError> {
            let key = limit.setting();
            let Some(value) = profile.settings.get(key) else {
                return Ok(default);
            };
            let ceiling = limit.ceiling();
            let refuse = |shown: String| BrokerError::Config {
                profile: profile.name.clone(),
                message: format!(
                    "setting `{key}` is {shown}: expected a whole number from 1 to {ceiling}"
                ),
            };
            let text = value
                .as_str()
                .ok_or_else(|| refuse(format!("`{value}`, not a string")))?;
            let shown = || format!("`{}`", text.chars().take(40).collect::<String>());
            // Digits only: `parse` would also take a sign.
            let digits = text.trim();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(refuse(shown()));
            }
            match digits.parse::<usize>() {
                Ok(number) if (1..=ceiling).contains(&number) => Ok(number),
                _ => Err(refuse(shown())),
            }
        };
        Ok(CrawlLimits {
            max_items: setting(CrawlLimit::Items, DEFAULT_MAX_ITEMS)?,
            max_depth: setting(CrawlLimit::Depth, DEFAULT_MAX_DEPTH)?,
        })
    }
}

/// Which crawl limit a read went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrawlLimit {
    /// `max_items`.
    Items,
    /// `max_depth`.
    Depth,
}

impl CrawlLimit {
    /// The profile setting that raises it.
    pub fn setting(self) -> &'static str {
        match self {
            CrawlLimit::Items => "max_items",
            CrawlLimit::Depth => "max_depth",
        }
    }

    /// The most the setting may be.
    pub fn ceiling(self) -> usize {
        match self {
            CrawlLimit::Items => MAX_ITEMS_CEILING,
            CrawlLimit::Depth => MAX_DEPTH_CEILING,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::test_server::{Body, Reply, serve};
    use crate::{TlsOptions, Transport};

    const SMALL: BodyLimit = BodyLimit {
        bytes: 4 * KIB,
        answer: "a test answer",
    };

    /// Reads an answer with `body` up to [`SMALL`]; and whether the server saw the client hang
    /// up while it was still writing.
    fn read(body: Body) -> (Result<Vec<u8>, BrokerError>, bool) {
        let body = std::sync::Mutex::new(Some(body));
        let server = serve(move |_| Reply {
            status: 200,
            body: body.lock().unwrap().take().expect("one request"),
        });
        let address = server.address.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime.block_on(async {
            let response = reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap()
                .get(format!("{address}/v1/sys/policy"))
                .send()
                .await
                .unwrap();
            SMALL
                .read(response, &address, "/v1/sys/policy", |e| {
                    BrokerError::Malformed {
                        address: address.clone(),
                        path: "/v1/sys/policy".into(),
                        detail: format!("the answer broke off: {e}"),
                    }
                })
                .await
        });
        // The connection task lives in the runtime: dropping it closes the socket, which is
        // what the server waits for when it writes without end.
        drop(runtime);
        let hung_up = server
            .hung_up
            .recv_timeout(Duration::from_secs(30))
            .expect("the server answered");
        (result, hung_up)
    }

    fn too_large(result: Result<Vec<u8>, BrokerError>) -> String {
        match result {
            Err(error @ BrokerError::BodyTooLarge { .. }) => error.to_string(),
            other => panic!("expected BodyTooLarge, got {other:?}"),
        }
    }

    #[test]
    fn a_body_up_to_the_cap_is_read_whole_sized_or_chunked() {
        let full = vec![b'x'; 4096];
        assert_eq!(read(Body::Sized(full.clone())).0.unwrap(), full);
        assert_eq!(read(Body::Chunked(full.clone())).0.unwrap(), full);
        assert_eq!(read(Body::Sized(Vec::new())).0.unwrap(), b"");
    }

    #[test]
    fn a_body_past_the_cap_is_refused_naming_address_path_and_limit() {
        let message = too_large(read(Body::Sized(vec![b'x'; 4097])).0);
        let address = message.split("/v1/").next().unwrap();
        assert!(address.starts_with("http://127.0.0.1:"), "{message}");
        assert_eq!(
            message,
            format!(
                "{address}/v1/sys/policy: the answer is larger than 4 KiB (4096 bytes, the limit \
                 for a test answer); Bridle stopped reading it"
            )
        );
        too_large(read(Body::Chunked(vec![b'x'; 4097])).0);
        // Refused on the announced length alone: the server sends no byte of it.
        too_large(read(Body::Announced(1 << 40)).0);
    }

    #[test]
    fn an_endless_body_is_abandoned_at_the_cap() {
        let (result, client_hung_up) = read(Body::Endless);
        too_large(result);
        assert!(
            client_hung_up,
            "the client left while the server was writing"
        );
    }

    #[test]
    fn a_body_that_breaks_off_is_the_callers_transport_error() {
        match read(Body::Announced(100)).0 {
            Err(BrokerError::Malformed { detail, .. }) => {
                assert!(detail.contains("broke off"), "{detail}")
            }
            other => panic!("expected the transport error, got {other:?}"),
        }
    }

    #[test]
    fn each_kind_has_its_cap() {
        assert_eq!(BrokerKind::Openbao.body_limit().bytes, 8 * MIB);
        assert_eq!(BrokerKind::Oidc.body_limit().bytes, MIB);
        assert_eq!(BrokerKind::Mcp.body_limit().bytes, 4 * MIB);
    }

    #[test]
    fn limits_are_shown_in_the_largest_whole_unit_and_in_bytes() {
        assert_eq!(
            shown_limit(8 * MIB, "x"),
            "8 MiB (8388608 bytes, the limit for x)"
        );
        assert_eq!(
            shown_limit(MIB, "x"),
            "1 MiB (1048576 bytes, the limit for x)"
        );
        assert_eq!(
            shown_limit(4 * KIB, "x"),
            "4 KiB (4096 bytes, the limit for x)"
        );
        assert_eq!(shown_limit(1000, "x"), "1000 bytes (the limit for x)");
    }

    fn openbao(settings: &[(&str, serde_json::Value)]) -> Profile {
        Profile {
            name: "bao".into(),
            kind: BrokerKind::Openbao,
            address: url::Url::parse("http://127.0.0.1:8200").unwrap(),
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            credential: None,
            settings: settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            transport: Transport::default(),
        }
    }

    #[test]
    fn crawl_limits_default_and_are_raised_by_the_profile() {
        assert_eq!(
            CrawlLimits::of(&openbao(&[])).unwrap(),
            CrawlLimits {
                max_items: 2_000,
                max_depth: 32
            }
        );
        let raised = openbao(&[("max_items", "50000".into()), ("max_depth", " 64".into())]);
        assert_eq!(
            CrawlLimits::of(&raised).unwrap(),
            CrawlLimits {
                max_items: 50_000,
                max_depth: 64
            }
        );
        let ceilings = openbao(&[("max_items", "1000000".into()), ("max_depth", "256".into())]);
        assert!(CrawlLimits::of(&ceilings).is_ok());
        // Checked with the rest of the profile, before any connection.
        assert!(raised.check().is_ok());
    }

    #[test]
    fn a_bad_crawl_limit_is_a_config_error_naming_the_setting() {
        use serde_json::json;
        for (key, value, shown) in [
            ("max_items", json!("0"), "`0`"),
            ("max_items", json!("many"), "`many`"),
            ("max_items", json!("-5"), "`-5`"),
            ("max_items", json!("+5"), "`+5`"),
            ("max_items", json!("2.5"), "`2.5`"),
            ("max_items", json!("1000001"), "`1000001`"),
            (
                "max_items",
                json!("99999999999999999999999"),
                "`99999999999999999999999`",
            ),
            ("max_items", json!(5), "`5`, not a string"),
            ("max_depth", json!("257"), "`257`"),
            ("max_depth", json!(""), "``"),
        ] {
            let profile = openbao(&[(key, value)]);
            let error = CrawlLimits::of(&profile).unwrap_err();
            assert!(matches!(error, BrokerError::Config { .. }), "{error:?}");
            let ceiling = if key == "max_items" { 1_000_000 } else { 256 };
            assert_eq!(
                error.to_string(),
                format!(
                    "profile bao: setting `{key}` is {shown}: expected a whole number from 1 to {ceiling}"
                )
            );
            assert_eq!(profile.check().unwrap_err().to_string(), error.to_string());
        }
    }
}
