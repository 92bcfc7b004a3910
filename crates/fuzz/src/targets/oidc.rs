//! The OIDC connector (`oidc::collect`) against a loopback issuer that serves generated answers:
//! the discovery document, the JWKS and the client-credentials token answer (whose access token
//! is a JWT built from a mutated header and claims, an opaque token, or broken parts), each
//! mutated structurally, sometimes damaged, cut short, or answered with another status.
//!
//! Properties: no panic; every rejection says where: a malformed answer or an error status names
//! the address and the path of an answer the issuer served (with its status), and a refused
//! endpoint names its field; no timeout, connection or credential error (the issuer always
//! answers); an accepted issuer maps to an estate that the estate reader accepts as it stands
//! (the sync reads it back the same way and fails otherwise).

use std::cell::RefCell;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bridle_brokers::{BrokerError, BrokerKind, Profile, SecretRef, TlsOptions, Transport};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::answer::{AnswerPlan, answer_plan, fill_in, served_summary};
use crate::harness::{Outcome, check, no_panic};
use crate::http::{Handler, Reply, Request, Server};
use crate::mutate::{EDGE_INTEGERS, TreeEdit, apply_tree, tree_edits};

const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// Field names and values of discovery documents, JWKS keys, token answers and claims.
const WORDS: &[&str] = &[
    "issuer",
    "jwks_uri",
    "token_endpoint",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "scopes_supported",
    "id_token_signing_alg_values_supported",
    "response_types_supported",
    "client_secret_basic",
    "client_secret_post",
    "keys",
    "kty",
    "kid",
    "alg",
    "use",
    "crv",
    "n",
    "e",
    "x",
    "y",
    "RSA",
    "EC",
    "oct",
    "RS256",
    "ES256",
    "none",
    "sig",
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "client_id",
    "tickets:read",
    "tickets:write admin",
    "@BASE@",
    "@BASE@/keys",
    "@BASE@/token",
    "@BASE@/missing",
    "@BASE@/",
    "/keys",
    "http://localhost:1/keys",
    "https://elsewhere.invalid/token",
    "ftp://x",
    "not a url",
    "bridle-fuzz",
    "api://tickets",
];

/// How the token answer carries its access token.
#[derive(Debug, Clone)]
enum AccessToken {
    Jwt {
        header: Vec<TreeEdit>,
        /// `iat` and `exp` set to numbers at the edges before the edits.
        times: Option<(i64, i64)>,
        claims: Vec<TreeEdit>,
    },
    Opaque(String),
    /// Dot-separated parts as they are (not base64, wrong count).
    Parts(Vec<String>),
}

#[derive(Debug, Clone)]
struct OidcCase {
    discovery: AnswerPlan,
    jwks: AnswerPlan,
    token: AnswerPlan,
    access_token: AccessToken,
    /// A client is configured (`client_id` and its secret): the token endpoint is called.
    client: bool,
}

fn discovery_template() -> Value {
    json!({
        "issuer": "@BASE@",
        "jwks_uri": "@BASE@/keys",
        "token_endpoint": "@BASE@/token",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["tickets:read", "tickets:write"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["token"],
    })
}

fn jwks_template() -> Value {
    json!({"keys": [
        {"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
         "n": URL_SAFE_NO_PAD.encode([0xA5u8; 256]), "e": "AQAB"},
        {"kty": "EC", "kid": "ec-1", "crv": "P-256", "alg": "ES256",
         "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])},
    ]})
}

fn token_template() -> Value {
    json!({
        "access_token": "@TOKEN@",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "tickets:read tickets:write",
    })
}

fn header_template() -> Value {
    json!({"alg": "RS256", "typ": "at+jwt", "kid": "rsa-1"})
}

fn claims_template() -> Value {
    json!({
        "iss": "@BASE@",
        "sub": "bridle-fuzz",
        "aud": ["api://tickets", "api://billing"],
        "scope": "tickets:read tickets:write",
        "iat": 1_767_225_600,
        "exp": 1_767_229_200,
        "client_id": "bridle-fuzz",
    })
}

/// Now and then an issue and expiry time at the edges of what a claim can hold.
fn edge_times() -> impl Strategy<Value = Option<(i64, i64)>> {
    let time = proptest::sample::select(EDGE_INTEGERS);
    prop_oneof![3 => Just(None), 1 => (time.clone(), time).prop_map(Some)]
}

fn cases() -> impl Strategy<Value = OidcCase> {
    let access_token = prop_oneof![
        6 => (tree_edits(WORDS), edge_times(), tree_edits(WORDS))
            .prop_map(|(header, times, claims)| AccessToken::Jwt { header, times, claims }),
        1 => "[a-zA-Z0-9_-]{0,40}".prop_map(AccessToken::Opaque),
        1 => proptest::collection::vec("[a-zA-Z0-9_=!-]{0,12}", 0..5).prop_map(AccessToken::Parts),
    ];
    (
        answer_plan(WORDS),
        answer_plan(WORDS),
        answer_plan(WORDS),
        access_token,
        prop_oneof![3 => Just(true), 1 => Just(false)],
    )
        .prop_map(|(discovery, jwks, token, access_token, client)| OidcCase {
            discovery,
            jwks,
            token,
            access_token,
            client,
        })
}

fn access_token_text(token: &AccessToken, base: &str) -> String {
    match token {
        AccessToken::Jwt {
            header,
            times,
            claims,
        } => {
            let mut claims_tree = claims_template();
            if let Some((iat, exp)) = times {
                claims_tree["iat"] = json!(iat);
                claims_tree["exp"] = json!(exp);
            }
            let encode = |template: Value, edits: &[TreeEdit]| {
                let mut tree = template;
                apply_tree(&mut tree, edits);
                let text = fill_in(
                    serde_json::to_vec(&tree).expect("a JSON value always renders"),
                    &[("@BASE@", base.to_owned())],
                );
                URL_SAFE_NO_PAD.encode(text)
            };
            format!(
                "{}.{}.c2lnbmF0dXJl",
                encode(header_template(), header),
                encode(claims_tree, claims)
            )
        }
        AccessToken::Opaque(text) => text.clone(),
        AccessToken::Parts(parts) => parts.join("."),
    }
}

/// The bodies of the three answers, filled in for `base`.
struct Bodies {
    discovery: Vec<u8>,
    jwks: Vec<u8>,
    token: Vec<u8>,
}

impl Bodies {
    fn new(case: &OidcCase, base: &str) -> Bodies {
        let fill = [("@BASE@", base.to_owned())];
        // A token that JSON cannot hold as it is would need escaping: it is JSON-quoted whole.
        let token_text = serde_json::to_string(&access_token_text(&case.access_token, base))
            .expect("a string always renders");
        let token_fill = [("\"@TOKEN@\"", token_text), ("@BASE@", base.to_owned())];
        Bodies {
            discovery: case.discovery.body(&discovery_template(), &fill),
            jwks: case.jwks.body(&jwks_template(), &fill),
            token: case.token.body(&token_template(), &token_fill),
        }
    }

    fn show(&self) -> String {
        format!(
            "discovery: {}\njwks: {}\ntoken: {}",
            String::from_utf8_lossy(&self.discovery),
            String::from_utf8_lossy(&self.jwks),
            String::from_utf8_lossy(&self.token)
        )
    }
}

fn handler(case: &OidcCase, bodies: &Bodies) -> Handler {
    let (discovery, jwks, token) = (
        case.discovery.clone(),
        case.jwks.clone(),
        case.token.clone(),
    );
    let (discovery_body, jwks_body, token_body) = (
        bodies.discovery.clone(),
        bodies.jwks.clone(),
        bodies.token.clone(),
    );
    let json = || vec![("Content-Type".to_owned(), "application/json".to_owned())];
    Box::new(move |request: &Request| {
        let path = request.target.split('?').next().unwrap_or_default();
        match path {
            DISCOVERY_PATH => discovery.reply(discovery_body.clone(), json()),
            "/keys" => jwks.reply(jwks_body.clone(), json()),
            "/token" => token.reply(token_body.clone(), json()),
            _ => Reply::empty(404),
        }
    })
}

fn profile(base: &str, secret: &SecretRef, client: bool) -> Profile {
    let mut settings = Map::new();
    if client {
        settings.insert("client_id".into(), json!("bridle-fuzz"));
        settings.insert("scope".into(), json!("tickets:read"));
    }
    Profile {
        name: "fuzz".into(),
        kind: BrokerKind::Oidc,
        address: url::Url::parse(base).expect("the loopback address is a URL"),
        tls: TlsOptions::default(),
        connect_timeout: std::time::Duration::from_secs(5),
        request_timeout: std::time::Duration::from_secs(20),
        credential: client.then(|| secret.clone()),
        settings,
        transport: Transport::default(),
    }
}

/// Whether `shown` (a path as an error names it, relative to `base`, or a URL) is the target of
/// a request that was served, and with which status.
fn served_status(shown: &str, base: &str, served: &[(Request, u16)]) -> Option<u16> {
    let url = if shown.starts_with("http://") || shown.starts_with("https://") {
        url::Url::parse(shown).ok()?
    } else {
        url::Url::parse(&format!("{base}{shown}")).ok()?
    };
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    served
        .iter()
        .find(|(request, _)| request.target == target)
        .map(|(_, status)| *status)
}

struct Fixture {
    server: Server,
    runtime: RefCell<tokio::runtime::Runtime>,
    secret: SecretRef,
    _dir: tempfile::TempDir,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary directory for the client secret");
        let path = dir.path().join("client-secret");
        write_private(&path, b"fuzz-client-secret\n");
        Fixture {
            server: Server::start(),
            runtime: RefCell::new(runtime()),
            secret: SecretRef::File { path },
            _dir: dir,
        }
    }
}

/// Writes a file only its owner may read: the connector refuses a secret file others can read.
fn write_private(path: &std::path::Path, contents: &[u8]) {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).expect("creating the client secret file");
    file.write_all(contents)
        .expect("writing the client secret file");
}

fn property(fixture: &Fixture, case: &OidcCase) -> Result<(), String> {
    let base = fixture.server.base();
    let bodies = Bodies::new(case, &base);
    fixture.server.serve(handler(case, &bodies));
    let profile = profile(&base, &fixture.secret, case.client);
    let result = no_panic(|| {
        fixture
            .runtime
            .borrow()
            .block_on(bridle_brokers::oidc::collect(&profile))
    });
    let served = fixture.server.served();
    let fail = |problem: String| {
        format!(
            "{problem}\nclient configured: {}\nserved: {}\n{}",
            case.client,
            served_summary(&served),
            bodies.show()
        )
    };
    let result = match result {
        Ok(result) => result,
        Err(panic) => {
            // A panic may leave the runtime unusable: the next case gets a new one.
            *fixture.runtime.borrow_mut() = runtime();
            return Err(fail(panic));
        }
    };
    match result {
        Ok(collected) => super::check_connector_estate(&collected.estate).map_err(fail),
        Err(BrokerError::Malformed {
            address,
            path,
            detail,
        }) => {
            if address != base || detail.trim().is_empty() {
                return Err(fail(format!(
                    "a malformed answer reported at `{address}` with `{detail}`"
                )));
            }
            match served_status(&path, &base, &served) {
                Some(_) => Ok(()),
                None => Err(fail(format!(
                    "`{path}: {detail}` names no answer the issuer served"
                ))),
            }
        }
        Err(BrokerError::Status {
            address,
            path,
            status,
            message,
        }) => {
            let matches = address == base && served_status(&path, &base, &served) == Some(status);
            if matches && !message.is_empty() {
                Ok(())
            } else {
                Err(fail(format!(
                    "status {status} reported at `{address}{path}` ({message})"
                )))
            }
        }
        Err(BrokerError::Config { message, .. })
            if message.contains("`jwks_uri`") || message.contains("`token_endpoint`") =>
        {
            Ok(())
        }
        Err(other) => Err(fail(format!("an unexpected rejection: {other:?}"))),
    }
}

pub fn run(seed: u64, cases_to_run: u32) -> Outcome {
    let fixture = Fixture::new();
    check(seed, cases_to_run, cases(), |case| property(&fixture, case))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> AnswerPlan {
        AnswerPlan {
            edits: Vec::new(),
            damage: Vec::new(),
            status: 200,
            cut: None,
            pretty: false,
        }
    }

    /// A case whose token carries exactly `claims`.
    fn token_with(claims: Value) -> OidcCase {
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        OidcCase {
            discovery: plain(),
            jwks: plain(),
            token: plain(),
            access_token: AccessToken::Opaque(format!(
                "{}.{}.c2lnbmF0dXJl",
                encode(&header_template()),
                encode(&claims)
            )),
            client: true,
        }
    }

    #[test]
    fn the_unmutated_issuer_is_accepted() {
        let fixture = Fixture::new();
        property(&fixture, &token_with(claims_template())).unwrap();
    }

    #[test]
    fn an_audience_named_twice_maps_to_one_resource() {
        // Found by the fuzz tests: the sync failed with "duplicate id oidc-audience:…".
        let fixture = Fixture::new();
        let mut claims = claims_template();
        claims["aud"] = json!(["api://tickets", "api://tickets"]);
        property(&fixture, &token_with(claims)).unwrap();
    }

    #[test]
    fn issue_and_expiry_times_far_apart_are_a_lifetime_not_a_panic() {
        // Found by the fuzz tests: `exp - iat` overflowed.
        let fixture = Fixture::new();
        let mut claims = claims_template();
        claims["iat"] = json!(i64::MIN);
        claims["exp"] = json!(i64::MAX);
        property(&fixture, &token_with(claims)).unwrap();
    }
}
