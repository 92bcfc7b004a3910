//! An OpenID Connect issuer: its discovery document, its signing keys and, with a configured
//! client, one client-credentials token whose claims are the evidence of what the issuer really
//! hands out (lifetime, scope, audience). The token itself is decoded in memory and dropped: it is
//! never stored, logged or put in an error.
//!
//! Profile settings: `client_id` (with the profile's credential = the client secret, sent with
//! HTTP Basic), optional `scope`, and `audience` or `resource` (RFC 8707 resource indicator).
//!
//! Mapping: the client becomes an identity of kind `oidc_client` (`oidc:<issuer>#<client_id>`)
//! holding a credential of kind `oauth_client_secret` (its value is never read into the estate);
//! the token's audience becomes an `api` resource that the client is granted with the actions its
//! scopes name (`…read…` → read, `…write…` → write, `…admin…` → admin). Observations:
//! `oidc.issuer`, one `oidc.key` per JWKS key, and `oidc.token` (lifetime exp − iat, scope, aud,
//! sub, iss).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bridle_core::model::{
    Action, ActionSet, Credential, CredentialKind, Grant, Identity, IdentityKind, Resource,
    ResourceKind, Sensitivity,
};
use serde_json::{Map, Value, json};

use crate::limits::BodyLimit;
use crate::spire::sorted;
use crate::{BrokerError, Collected, Observation, Profile, Secret, UnknownPart};

/// Reads the issuer at `profile.address` (the issuer URL).
pub async fn collect(profile: &Profile) -> Result<Collected, BrokerError> {
    collect_unredacted(profile)
        .await
        .map_err(|e| profile.redact(e))
}

async fn collect_unredacted(profile: &Profile) -> Result<Collected, BrokerError> {
    let http = Http::new(profile)?;
    let mut collected = Collected::default();

    let discovery = http
        .get_json("/.well-known/openid-configuration", None)
        .await?;
    let discovery_path = "/.well-known/openid-configuration";
    let issuer = required_str(&http, discovery_path, &discovery, "issuer")?;
    let jwks_uri = required_str(&http, discovery_path, &discovery, "jwks_uri")?;
    let token_endpoint = discovery
        .get("token_endpoint")
        .and_then(Value::as_str)
        .map(str::to_owned);

    let mut facts = Map::new();
    facts.insert("issuer".into(), json!(issuer));
    facts.insert(
        "issuer_matches_address".into(),
        json!(issuer.trim_end_matches('/') == http.base),
    );
    facts.insert("jwks_uri".into(), json!(jwks_uri));
    facts.insert("token_endpoint".into(), json!(token_endpoint));
    for key in [
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
        "scopes_supported",
        "id_token_signing_alg_values_supported",
        "response_types_supported",
    ] {
        facts.insert(
            key.into(),
            discovery.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    collected.observations.push(Observation {
        kind: "oidc.issuer".into(),
        id: issuer.clone(),
        facts: sorted(facts),
    });

    // The issuer names these addresses itself: Bridle follows them only on the issuer's origin
    // (or where the profile allows another https origin).
    profile.check_endpoint("jwks_uri", &jwks_uri)?;
    let jwks = http.get_json(&jwks_uri, None).await?;
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| http.malformed(&jwks_uri, "the JWKS has no `keys` array"))?;
    for (index, key) in keys.iter().enumerate() {
        let Some(key) = key.as_object() else {
            return Err(http.malformed(&jwks_uri, format!("keys[{index}] is not an object")));
        };
        let kty = key.get("kty").and_then(Value::as_str).ok_or_else(|| {
            http.malformed(&jwks_uri, format!("keys[{index}] has no `kty` string"))
        })?;
        let kid = key
            .get("kid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{index}"), str::to_owned);
        // Only public parameters are looked at; the size of an RSA modulus is a strength fact.
        let rsa_bits = key
            .get("n")
            .and_then(Value::as_str)
            .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
            .map(|n| n.len() * 8);
        collected.observations.push(Observation {
            kind: "oidc.key".into(),
            id: format!("{issuer}#{kid}"),
            facts: sorted(Map::from_iter([
                ("kid".to_owned(), json!(kid)),
                ("kty".to_owned(), json!(kty)),
                (
                    "alg".to_owned(),
                    key.get("alg").cloned().unwrap_or(Value::Null),
                ),
                (
                    "use".to_owned(),
                    key.get("use").cloned().unwrap_or(Value::Null),
                ),
                (
                    "crv".to_owned(),
                    key.get("crv").cloned().unwrap_or(Value::Null),
                ),
                ("rsa_bits".to_owned(), json!(rsa_bits)),
            ])),
        });
    }

    let Some(client_id) = profile.setting("client_id").filter(|c| !c.is_empty()) else {
        collected.unknowns.push(UnknownPart {
            part: "client-credentials token".into(),
            reason: "no `client_id` setting: token lifetime and scope are not known".into(),
        });
        return Ok(collected);
    };
    let Some(reference) = &profile.credential else {
        return Err(BrokerError::Config {
            profile: profile.name.clone(),
            message: format!(
                "client `{client_id}` needs its client secret as the profile's credential (env:NAME or file:PATH)"
            ),
        });
    };
    let token_endpoint = token_endpoint.ok_or_else(|| {
        http.malformed(
            discovery_path,
            "no `token_endpoint`, but a client is configured",
        )
    })?;
    // The client secret goes only to an endpoint the profile allows; it is read after that.
    profile.check_endpoint("token_endpoint", &token_endpoint)?;
    let secret = reference.resolve()?;
    let requested_scope = profile.setting("scope").filter(|s| !s.is_empty());
    let resource = profile
        .setting("audience")
        .or_else(|| profile.setting("resource"))
        .filter(|s| !s.is_empty());
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    if let Some(scope) = requested_scope {
        form.push(("scope", scope));
    }
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    // `client_secret_basic` unless the issuer says it only takes the secret in the form.
    let methods: Vec<&str> = discovery
        .get("token_endpoint_auth_methods_supported")
        .and_then(Value::as_array)
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let in_form = !methods.is_empty()
        && !methods.contains(&"client_secret_basic")
        && methods.contains(&"client_secret_post");
    let answer = http
        .post_token(&token_endpoint, client_id, &secret, &form, in_form)
        .await?;
    let token = answer
        .get("access_token")
        .and_then(Value::as_str)
        .ok_or_else(|| http.malformed(&token_endpoint, "no `access_token` string in the answer"))?;
    let claims = decode_jwt(token).map_err(|detail| http.malformed(&token_endpoint, detail))?;

    let client_identity = format!("oidc:{}#{client_id}", issuer.trim_end_matches('/'));
    let secret_credential = format!("{client_identity}/client-secret");
    let mut token_facts = Map::new();
    token_facts.insert("client_id".into(), json!(client_id));
    token_facts.insert("credential".into(), json!(secret_credential));
    token_facts.insert("requested_scope".into(), json!(requested_scope));
    token_facts.insert("requested_resource".into(), json!(resource));
    token_facts.insert(
        "token_type".into(),
        answer.get("token_type").cloned().unwrap_or(Value::Null),
    );
    token_facts.insert(
        "expires_in".into(),
        answer.get("expires_in").cloned().unwrap_or(Value::Null),
    );
    let mut audiences = Vec::new();
    let mut granted_scope = answer
        .get("scope")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match &claims {
        TokenClaims::Opaque => {
            token_facts.insert("format".into(), json!("opaque"));
            token_facts.insert("lifetime_seconds".into(), Value::Null);
        }
        TokenClaims::Jwt { header, claims } => {
            token_facts.insert("format".into(), json!("jwt"));
            token_facts.insert(
                "alg".into(),
                header.get("alg").cloned().unwrap_or(Value::Null),
            );
            for claim in ["iss", "sub", "aud", "scope", "iat", "exp", "client_id"] {
                token_facts.insert(
                    claim.into(),
                    claims.get(claim).cloned().unwrap_or(Value::Null),
                );
            }
            let iat = claims.get("iat").and_then(Value::as_i64);
            let exp = claims.get("exp").and_then(Value::as_i64);
            let lifetime = match (iat, exp) {
                // `exp - iat` overflows i64 for times far apart (a panic in a debug build).
                (Some(iat), Some(exp)) if exp >= iat => json!(exp.abs_diff(iat)),
                (Some(_), Some(_)) => {
                    return Err(
                        http.malformed(&token_endpoint, "the token's `exp` is before its `iat`")
                    );
                }
                // No `exp`: the token does not expire by itself.
                (_, None) => json!("no exp claim"),
                (None, Some(_)) => Value::Null,
            };
            token_facts.insert("lifetime_seconds".into(), lifetime);
            match claims.get("aud") {
                Some(Value::String(aud)) => audiences.push(aud.clone()),
                Some(Value::Array(list)) => {
                    audiences.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
                }
                _ => {}
            }
            if let Some(scope) = claims.get("scope").and_then(Value::as_str) {
                granted_scope = Some(scope.to_owned());
            }
        }
    }
    collected.observations.push(Observation {
        kind: "oidc.token".into(),
        id: client_identity.clone(),
        facts: sorted(token_facts),
    });

    collected.estate.identities.push(Identity {
        id: client_identity.clone(),
        kind: IdentityKind::OidcClient,
        name: client_id.to_owned(),
        owner: None,
        provider: Some(issuer.clone()),
    });
    collected.estate.credentials.push(Credential {
        id: secret_credential,
        identity: client_identity.clone(),
        kind: CredentialKind::OauthClientSecret,
        issued_at: None,
        expires_at: None,
        last_rotated: None,
        last_used: None,
        fingerprint: None,
    });
    let scope = granted_scope.unwrap_or_default();
    let actions = scope_actions(&scope);
    // A token may name an audience twice: it is still one resource and one grant.
    audiences.sort();
    audiences.dedup();
    for audience in audiences {
        if audience == client_id {
            continue;
        }
        let resource_id = format!("oidc-audience:{audience}");
        collected.estate.resources.push(Resource {
            id: resource_id.clone(),
            kind: ResourceKind::Api,
            name: audience.clone(),
            sensitivity: Sensitivity::Internal,
            crown_jewel: false,
            environment: None,
            holds_credentials: Vec::new(),
            runs_as: Vec::new(),
        });
        if actions.is_empty() {
            continue;
        }
        collected.estate.grants.push(Grant {
            id: bridle_core::estate::derived_grant_id(&client_identity, &resource_id, actions),
            subject: client_identity.clone(),
            target: resource_id,
            actions,
            standing: true,
            expires_at: None,
            conditions: Some(format!(
                "client-credentials token scope `{scope}` (the API enforces it, not the issuer)"
            )),
            source: Some(format!("oidc:{}:token", profile.name)),
        });
    }
    Ok(collected)
}

/// Actions a scope string names.
fn scope_actions(scope: &str) -> ActionSet {
    let mut actions = ActionSet::EMPTY;
    for word in scope.split_whitespace() {
        let word = word.to_ascii_lowercase();
        if word.contains("read") {
            actions.insert(Action::Read);
        }
        if word.contains("write") {
            actions.insert(Action::Write);
        }
        if word.contains("admin") {
            actions.insert(Action::Admin);
        }
    }
    actions
}

/// A token's decoded parts (claims only: the token string itself is not kept).
#[derive(Debug)]
enum TokenClaims {
    Opaque,
    Jwt {
        header: Map<String, Value>,
        claims: Map<String, Value>,
    },
}

/// Decodes (does not verify: the issuer just handed it to us over its own TLS) a JWT's header
/// and claims. A token without dots is opaque; anything else that is not a JWT is malformed.
fn decode_jwt(token: &str) -> Result<TokenClaims, String> {
    if !token.contains('.') {
        return Ok(TokenClaims::Opaque);
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "the access token has {} dot-separated parts; a JWS JWT has 3",
            parts.len()
        ));
    }
    let part = |index: usize, what: &str| -> Result<Map<String, Value>, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(parts[index].trim_end_matches('='))
            .map_err(|e| format!("the access token's {what} is not base64url ({e})"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(format!("the access token's {what} is not a JSON object")),
            Err(e) => Err(format!("the access token's {what} is not JSON ({e})")),
        }
    };
    Ok(TokenClaims::Jwt {
        header: part(0, "header")?,
        claims: part(1, "claims")?,
    })
}

fn required_str(
    http: &Http,
    path: &str,
    document: &Value,
    key: &str,
) -> Result<String, BrokerError> {
    document
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| http.malformed(path, format!("no `{key}` string")))
}

/// The HTTP side shared by the OIDC and MCP connectors: one client with the profile's timeouts and
/// CA, every answer read up to the cap for the profile's kind ([`crate::limits`]), and every
/// failure mapped to a [`BrokerError`] naming the address and path (never a secret).
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    /// The profile address without a trailing slash.
    pub(crate) base: String,
    timeout: std::time::Duration,
    /// The cap on one answer, by the profile's kind.
    body_limit: BodyLimit,
}

impl Http {
    pub(crate) fn new(profile: &Profile) -> Result<Http, BrokerError> {
        Ok(Http {
            client: profile.http_client()?,
            base: profile.address.as_str().trim_end_matches('/').to_owned(),
            timeout: profile.request_timeout,
            body_limit: profile.kind.body_limit(),
        })
    }

    /// The body of the answer to `path`, up to the kind's cap.
    pub(crate) async fn body(
        &self,
        path: &str,
        response: reqwest::Response,
    ) -> Result<Vec<u8>, BrokerError> {
        self.body_limit
            .read(response, &self.base, &self.shown(path), |e| {
                self.transport(path, e)
            })
            .await
    }

    /// `path` relative to the base, or an absolute URL as given.
    pub(crate) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// The path part to name in errors (the URL when it is on another host).
    fn shown(&self, path: &str) -> String {
        path.strip_prefix(&self.base).unwrap_or(path).to_owned()
    }

    pub(crate) fn malformed(&self, path: &str, detail: impl Into<String>) -> BrokerError {
        BrokerError::Malformed {
            address: self.base.clone(),
            path: self.shown(path),
            detail: detail.into(),
        }
    }

    pub(crate) fn transport(&self, path: &str, error: &reqwest::Error) -> BrokerError {
        let path = self.shown(path);
        if error.is_timeout() {
            BrokerError::Timeout {
                address: self.base.clone(),
                path,
                after: self.timeout,
            }
        } else if error.is_connect() {
            BrokerError::Connect {
                address: self.base.clone(),
                reason: format!("{path}: {}", chain(error)),
            }
        } else {
            BrokerError::Malformed {
                address: self.base.clone(),
                path,
                detail: format!("the answer broke off: {}", chain(error)),
            }
        }
    }

    pub(crate) fn status(&self, path: &str, status: u16, body: &[u8]) -> BrokerError {
        BrokerError::Status {
            address: self.base.clone(),
            path: self.shown(path),
            status,
            message: body_excerpt(body),
        }
    }

    /// GET a JSON object; `bearer` is sent as `Authorization: Bearer`.
    pub(crate) async fn get_json(
        &self,
        path: &str,
        bearer: Option<&Secret>,
    ) -> Result<Value, BrokerError> {
        let mut request = self
            .client
            .get(self.url(path))
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.map_err(|e| self.transport(path, &e))?;
        let status = response.status().as_u16();
        let bytes = self.body(path, response).await?;
        if !(200..300).contains(&status) {
            return Err(self.status(path, status, &bytes));
        }
        self.json_object(path, &bytes)
    }

    pub(crate) fn json_object(&self, path: &str, bytes: &[u8]) -> Result<Value, BrokerError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value @ Value::Object(_)) => Ok(value),
            Ok(_) => Err(self.malformed(path, "the answer is not a JSON object")),
            Err(e) => Err(self.malformed(path, format!("not JSON ({e})"))),
        }
    }

    /// The token request: HTTP Basic client authentication (`client_secret_basic`), or the secret in
    /// the form (`client_secret_post`) when the issuer takes only that; form body.
    /// An error answer is reported with the secret scrubbed from it, should a server echo it.
    async fn post_token(
        &self,
        path: &str,
        client_id: &str,
        secret: &Secret,
        form: &[(&str, &str)],
        secret_in_form: bool,
    ) -> Result<Value, BrokerError> {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.extend_pairs(form);
        let mut request = self
            .client
            .post(self.url(path))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if secret_in_form {
            body.append_pair("client_id", client_id);
            body.append_pair("client_secret", secret.expose());
        } else {
            // RFC 6749 §2.3.1: both parts are form-encoded before they go into Basic.
            let encode = |text: &str| {
                url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>()
            };
            request = request.basic_auth(encode(client_id), Some(encode(secret.expose())));
        }
        let response = request
            .body(body.finish())
            .send()
            .await
            .map_err(|e| self.transport(path, &e))?;
        let status = response.status().as_u16();
        let bytes = self.body(path, response).await?;
        if !(200..300).contains(&status) {
            let mut error = self.status(path, status, &bytes);
            if let BrokerError::Status { message, .. } = &mut error {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(secret.expose().as_bytes()).collect();
                *message = message
                    .replace(secret.expose(), "[redacted]")
                    .replace(&encoded, "[redacted]");
            }
            return Err(error);
        }
        self.json_object(path, &bytes)
    }
}

/// The start of an error body (OAuth's `error`/`error_description` when present).
fn body_excerpt(bytes: &[u8]) -> String {
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(bytes) {
        let error = body.get("error").and_then(Value::as_str);
        let description = body.get("error_description").and_then(Value::as_str);
        if let Some(error) = error {
            return match description {
                Some(d) => format!("{error}: {d}"),
                None => error.to_owned(),
            };
        }
    }
    let text: String = String::from_utf8_lossy(bytes).chars().take(200).collect();
    if text.trim().is_empty() {
        "no message".to_owned()
    } else {
        text.trim().to_owned()
    }
}

/// An error with its sources, so "error sending request" says why.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &Value, claims: &Value) -> String {
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        format!("{}.{}.c2lnbmF0dXJl", encode(header), encode(claims))
    }

    #[test]
    fn tokens_decode_or_are_malformed() {
        let token = jwt(
            &json!({"alg": "RS256", "typ": "at+jwt"}),
            &json!({"iat": 100, "exp": 400, "scope": "a:read", "aud": "x"}),
        );
        let TokenClaims::Jwt { header, claims } = decode_jwt(&token).unwrap() else {
            panic!("a JWT")
        };
        assert_eq!(header["alg"], "RS256");
        assert_eq!(claims["exp"], 400);
        assert!(matches!(
            decode_jwt("opaque-token").unwrap(),
            TokenClaims::Opaque
        ));
        assert!(
            decode_jwt("a.b")
                .unwrap_err()
                .contains("2 dot-separated parts")
        );
        assert!(
            decode_jwt("e30.!!!.x")
                .unwrap_err()
                .contains("claims is not base64url")
        );
        let not_json = format!("e30.{}.x", URL_SAFE_NO_PAD.encode("nope"));
        assert!(
            decode_jwt(&not_json)
                .unwrap_err()
                .contains("claims is not JSON")
        );
    }

    #[test]
    fn scopes_name_actions() {
        assert_eq!(
            scope_actions("tickets:read tickets:write openid").words(),
            ["read", "write"]
        );
        assert!(scope_actions("openid profile").is_empty());
    }
}
