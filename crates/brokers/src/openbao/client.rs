//! The OpenBao/Vault HTTP API as this connector uses it: `X-Vault-Token`, `?list=true` for LIST,
//! and every failure mapped to a [`BrokerError`] naming the address and the API path (never the
//! token). Every answer is read up to [`OPENBAO_BODY_LIMIT`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::answers::Envelope;
use crate::limits::OPENBAO_BODY_LIMIT;
use crate::{BrokerError, Profile, Secret};

/// A read that the token was not allowed to make: the caller records the part as unknown.
#[derive(Debug)]
pub enum Answer {
    Data(Value),
    /// 404: nothing there (an empty LIST answers 404).
    Missing,
    /// 403, with the server's message.
    Forbidden(String),
}

/// A typed answer: its `data`, nothing there, or not allowed.
#[derive(Debug)]
pub enum Reply<T> {
    Data(T),
    Missing,
    Forbidden(String),
}

pub struct Client {
    http: reqwest::Client,
    /// The base URL without a trailing slash.
    address: String,
    token: Secret,
    timeout: Duration,
    namespace: Option<String>,
}

impl Client {
    pub fn new(profile: &Profile) -> Result<Client, BrokerError> {
        let token = profile
            .credential
            .as_ref()
            .ok_or_else(|| BrokerError::Config {
                profile: profile.name.clone(),
                message: "an OpenBao/Vault profile needs a credential (--credential env:NAME or file:PATH holding a token)".into(),
            })?
            .resolve()?;
        Ok(Client {
            http: profile.http_client()?,
            address: profile.address.as_str().trim_end_matches('/').to_owned(),
            token,
            timeout: profile.request_timeout,
            namespace: profile.setting("namespace").map(str::to_owned),
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// `GET /v1/<path>`.
    pub async fn read(&self, path: &str) -> Result<Answer, BrokerError> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `GET /v1/<path>`, its `data` decoded as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Reply<T>, BrokerError> {
        let answer = self.read(path).await?;
        self.typed(path, answer)
    }

    /// `POST /v1/<path>`, the answer's `data` decoded as `T`.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<Reply<T>, BrokerError> {
        let answer = self.write(path, body).await?;
        self.typed(path, answer)
    }

    fn typed<T: DeserializeOwned>(
        &self,
        path: &str,
        answer: Answer,
    ) -> Result<Reply<T>, BrokerError> {
        Ok(match answer {
            Answer::Data(value) => {
                let envelope: Envelope<T> =
                    serde_path_to_error::deserialize(value).map_err(|e| {
                        self.malformed(path, format!("at `{}`: {}", e.path(), e.inner()))
                    })?;
                Reply::Data(envelope.data)
            }
            Answer::Missing => Reply::Missing,
            Answer::Forbidden(message) => Reply::Forbidden(message),
        })
    }

    /// `LIST /v1/<path>` (as `GET ?list=true`): the `keys`, empty when there are none.
    pub async fn list(&self, path: &str) -> Result<Result<Vec<String>, String>, BrokerError> {
        let path = format!("{}?list=true", path.trim_end_matches('/'));
        match self.send(reqwest::Method::GET, &path, None).await? {
            Answer::Missing => Ok(Ok(Vec::new())),
            Answer::Forbidden(message) => Ok(Err(message)),
            Answer::Data(body) => {
                let keys = body
                    .pointer("/data/keys")
                    .and_then(Value::as_array)
                    .ok_or_else(|| self.malformed(&path, "no `data.keys` list"))?;
                keys.iter()
                    .map(|k| {
                        k.as_str().map(str::to_owned).ok_or_else(|| {
                            self.malformed(&path, "a key in `data.keys` is not a string")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Ok)
            }
        }
    }

    /// `POST /v1/<path>` with a JSON body.
    pub async fn write(&self, path: &str, body: &Value) -> Result<Answer, BrokerError> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub fn malformed(&self, path: &str, detail: impl Into<String>) -> BrokerError {
        BrokerError::Malformed {
            address: self.address.clone(),
            path: api_path(path),
            detail: detail.into(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, BrokerError> {
        let api = api_path(path);
        let url = format!("{}{api}", self.address);
        let mut request = self
            .http
            .request(method, &url)
            .header("X-Vault-Token", self.token.expose())
            .header("X-Vault-Request", "true");
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport(&api, &e))?;
        let status = response.status();
        let bytes = OPENBAO_BODY_LIMIT
            .read(response, &self.address, &api, |e| self.transport(&api, e))
            .await?;
        let parsed = || -> Result<Value, BrokerError> {
            if bytes.is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_slice(&bytes).map_err(|e| BrokerError::Malformed {
                address: self.address.clone(),
                path: api.clone(),
                detail: format!("not JSON ({e})"),
            })
        };
        match status.as_u16() {
            200..=299 => {
                let value = parsed()?;
                if !bytes.is_empty() && !value.is_object() {
                    return Err(self.malformed(path, "the answer is not a JSON object"));
                }
                Ok(Answer::Data(value))
            }
            404 => Ok(Answer::Missing),
            403 => Ok(Answer::Forbidden(error_text(
                parsed().ok().as_ref(),
                &bytes,
            ))),
            code => Err(BrokerError::Status {
                address: self.address.clone(),
                path: api.clone(),
                status: code,
                message: error_text(parsed().ok().as_ref(), &bytes),
            }),
        }
    }

    fn transport(&self, api: &str, error: &reqwest::Error) -> BrokerError {
        if error.is_timeout() {
            BrokerError::Timeout {
                address: self.address.clone(),
                path: api.to_owned(),
                after: self.timeout,
            }
        } else if error.is_connect() {
            BrokerError::Connect {
                address: self.address.clone(),
                reason: format!("{api}: {}", chain(error)),
            }
        } else {
            BrokerError::Malformed {
                address: self.address.clone(),
                path: api.to_owned(),
                detail: format!("the answer broke off: {}", chain(error)),
            }
        }
    }
}

/// `/v1/<path>`.
fn api_path(path: &str) -> String {
    format!("/v1/{}", path.trim_start_matches('/'))
}

/// Vault's `{"errors": [...]}` joined, or the start of the body.
fn error_text(body: Option<&Value>, bytes: &[u8]) -> String {
    if let Some(errors) = body.and_then(|b| b.get("errors")).and_then(Value::as_array) {
        let words: Vec<&str> = errors.iter().filter_map(Value::as_str).collect();
        if !words.is_empty() {
            return words.join("; ");
        }
    }
    let text = String::from_utf8_lossy(bytes);
    let text: String = text.chars().take(200).collect();
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
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
