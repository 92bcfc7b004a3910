//! An MCP tool server over the streamable HTTP transport: `initialize`, `notifications/initialized`,
//! then `tools/list` page by page. Replies may be plain JSON or a server-sent-event stream whose
//! `data:` lines carry the JSON-RPC message; both are read. The `Mcp-Session-Id` the server hands
//! out is sent back on every later request, and the session is closed (`DELETE`) at the end.
//!
//! Mapping: each tool becomes an estate tool `mcp:<address>#<name>` whose `server` is the address.
//! Its annotations (`readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`) are an
//! `mcp.tool` observation, as declared (`null` when absent) and as the MCP specification says to
//! read them (absent destructive and open-world hints mean *true*). The server's auth (`none`, or
//! `bearer` when the profile has a credential) and what it said about itself are an `mcp.server`
//! observation. Annotations are the server's own claims, never proof: they are recorded as such.

use serde_json::{Map, Value, json};

use crate::oidc::Http;
use crate::spire::sorted;
use crate::{BrokerError, Collected, Observation, Profile, Secret};
use bridle_core::model::Tool;

/// The protocol revision Bridle asks for; the server may answer with another it supports.
const PROTOCOL_VERSION: &str = "2025-06-18";

/// More pages than any real server has: a cursor loop ends here rather than never.
const MAX_PAGES: usize = 1_000;

/// Reads the tools of the MCP server at `profile.address` (the endpoint, e.g. `…/mcp`).
pub async fn collect(profile: &Profile) -> Result<Collected, BrokerError> {
    collect_unredacted(profile)
        .await
        .map_err(|e| profile.redact(e))
}

async fn collect_unredacted(profile: &Profile) -> Result<Collected, BrokerError> {
    let bearer = profile
        .credential
        .as_ref()
        .map(crate::SecretRef::resolve)
        .transpose()?;
    let mut session = Session {
        http: Http::new(profile)?,
        bearer,
        session_id: None,
        protocol_version: None,
        next_id: 1,
    };
    let result = session.read_tools().await;
    // Closing is a courtesy; a server that does not support it answers 405.
    session.close().await;
    let (initialize, tools) = result?;

    let address = session.http.base.clone();
    let mut collected = Collected::default();
    let server_info = initialize.get("serverInfo").cloned().unwrap_or(Value::Null);
    collected.observations.push(Observation {
        kind: "mcp.server".into(),
        id: address.clone(),
        facts: sorted(Map::from_iter([
            (
                "auth".to_owned(),
                json!(if session.bearer.is_some() {
                    "bearer"
                } else {
                    "none"
                }),
            ),
            (
                "protocol_version".to_owned(),
                json!(session.protocol_version),
            ),
            (
                "server_name".to_owned(),
                server_info.get("name").cloned().unwrap_or(Value::Null),
            ),
            (
                "server_version".to_owned(),
                server_info.get("version").cloned().unwrap_or(Value::Null),
            ),
            (
                "capabilities".to_owned(),
                json!(
                    initialize
                        .get("capabilities")
                        .and_then(Value::as_object)
                        .map(sorted_keys)
                        .unwrap_or_default()
                ),
            ),
            ("session".to_owned(), json!(session.session_id.is_some())),
            ("tool_count".to_owned(), json!(tools.len())),
        ])),
    });

    let mut seen = std::collections::BTreeSet::new();
    for (index, tool) in tools.iter().enumerate() {
        let malformed = |detail: String| {
            session
                .http
                .malformed("", format!("tools/list: tools[{index}] {detail}"))
        };
        let Some(tool) = tool.as_object() else {
            return Err(malformed("is not an object".into()));
        };
        let name = tool
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| malformed("has no `name` string".into()))?;
        if !seen.insert(name.to_owned()) {
            return Err(malformed(format!("repeats the tool name `{name}`")));
        }
        let annotations = match tool.get("annotations") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(malformed("has `annotations` that are not an object".into())),
        };
        let hint = |key: &str| -> Result<Option<bool>, BrokerError> {
            match annotations.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(malformed(format!("has a non-boolean `{key}`"))),
            }
        };
        let read_only = hint("readOnlyHint")?;
        let destructive = hint("destructiveHint")?;
        let idempotent = hint("idempotentHint")?;
        let open_world = hint("openWorldHint")?;
        let id = format!("mcp:{address}#{name}");
        let input_properties: Vec<String> = tool
            .get("inputSchema")
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(sorted_keys)
            .unwrap_or_default();
        collected.observations.push(Observation {
            kind: "mcp.tool".into(),
            id: id.clone(),
            facts: sorted(Map::from_iter([
                ("name".to_owned(), json!(name)),
                (
                    "title".to_owned(),
                    tool.get("title")
                        .or_else(|| annotations.get("title"))
                        .cloned()
                        .unwrap_or(Value::Null),
                ),
                (
                    "description".to_owned(),
                    tool.get("description").cloned().unwrap_or(Value::Null),
                ),
                ("readOnlyHint".to_owned(), json!(read_only)),
                ("destructiveHint".to_owned(), json!(destructive)),
                ("idempotentHint".to_owned(), json!(idempotent)),
                ("openWorldHint".to_owned(), json!(open_world)),
                // The specification's defaults: a tool that does not say otherwise may modify
                // (unless read-only), may destroy, and reaches an open world.
                (
                    "effective_read_only".to_owned(),
                    json!(read_only.unwrap_or(false)),
                ),
                (
                    "effective_destructive".to_owned(),
                    json!(!read_only.unwrap_or(false) && destructive.unwrap_or(true)),
                ),
                (
                    "effective_open_world".to_owned(),
                    json!(open_world.unwrap_or(true)),
                ),
                ("input_properties".to_owned(), json!(input_properties)),
                ("server".to_owned(), json!(address)),
            ])),
        });
        collected.estate.tools.push(Tool {
            id,
            name: name.to_owned(),
            server: Some(address.clone()),
            runs_as: None,
            acts_on: Vec::new(),
        });
    }
    Ok(collected)
}

struct Session {
    http: Http,
    bearer: Option<Secret>,
    session_id: Option<String>,
    protocol_version: Option<String>,
    next_id: i64,
}

impl Session {
    /// The `initialize` result and every tool of every page.
    async fn read_tools(&mut self) -> Result<(Map<String, Value>, Vec<Value>), BrokerError> {
        let initialize = self
            .call(
                "initialize",
                json!({
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "bridle", "version": env!("CARGO_PKG_VERSION")},
                }),
            )
            .await?;
        let version = initialize
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                self.http
                    .malformed("", "initialize: no `protocolVersion` in the result")
            })?;
        // The version goes back in the `MCP-Protocol-Version` header of every later request, so
        // it must be a header value (versions are dates such as `2025-06-18`).
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(self.http.malformed(
                "",
                format!(
                    "initialize: `protocolVersion` {version:?} is not a protocol version (expected \
                     printable ASCII such as 2025-06-18)"
                ),
            ));
        }
        self.protocol_version = Some(version.to_owned());
        self.notify("notifications/initialized").await?;

        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        let mut cursors = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => json!({"cursor": c}),
                None => json!({}),
            };
            let page = self.call("tools/list", params).await?;
            let list = page.get("tools").and_then(Value::as_array).ok_or_else(|| {
                self.http
                    .malformed("", "tools/list: no `tools` array in the result")
            })?;
            tools.extend(list.iter().cloned());
            match page.get("nextCursor") {
                None | Some(Value::Null) => return Ok((initialize, tools)),
                Some(Value::String(next)) if next.is_empty() => return Ok((initialize, tools)),
                Some(Value::String(next)) => {
                    if !cursors.insert(next.clone()) {
                        return Err(self.http.malformed(
                            "",
                            format!("tools/list: the cursor `{next}` came back twice (a loop)"),
                        ));
                    }
                    cursor = Some(next.clone());
                }
                Some(_) => {
                    return Err(self
                        .http
                        .malformed("", "tools/list: `nextCursor` is not a string"));
                }
            }
        }
        Err(self.http.malformed(
            "",
            format!("tools/list: more than {MAX_PAGES} pages; stopped"),
        ))
    }

    fn request(&self, method: reqwest::Method) -> reqwest::RequestBuilder {
        let mut request = self.http.client.request(method, &self.http.base).header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        );
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token.expose());
        }
        if let Some(id) = &self.session_id {
            request = request.header("Mcp-Session-Id", id);
        }
        if let Some(version) = &self.protocol_version {
            request = request.header("MCP-Protocol-Version", version);
        }
        request
    }

    /// One JSON-RPC request; its `result` object.
    async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Map<String, Value>, BrokerError> {
        let id = self.next_id;
        self.next_id += 1;
        let response = self
            .request(reqwest::Method::POST)
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .send()
            .await
            .map_err(|e| self.http.transport("", &e))?;
        let status = response.status().as_u16();
        if let Some(session) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.session_id = Some(session.to_owned());
        }
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        let bytes = self.http.body("", response).await?;
        if !(200..300).contains(&status) {
            let mut error = self.http.status("", status, &bytes);
            if let (BrokerError::Status { message, .. }, Some(challenge)) = (&mut error, challenge)
            {
                message.push_str(&format!(" (WWW-Authenticate: {challenge})"));
            }
            return Err(error);
        }
        let message = if is_stream {
            self.reply_in_stream(method, id, &bytes)?
        } else {
            self.http
                .json_object("", &bytes)
                .map_err(|e| self.context(method, e))?
        };
        self.result_of(method, id, message)
    }

    /// The message answering request `id` among the events of an SSE body.
    fn reply_in_stream(&self, method: &str, id: i64, body: &[u8]) -> Result<Value, BrokerError> {
        let text = std::str::from_utf8(body).map_err(|_| {
            self.http
                .malformed("", format!("{method}: the event stream is not UTF-8"))
        })?;
        // Events are separated by a blank line; an event's `data:` lines join with newlines.
        for event in text.replace("\r\n", "\n").split("\n\n") {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if data.is_empty() {
                continue;
            }
            let message: Value = serde_json::from_str(&data.join("\n")).map_err(|e| {
                self.http
                    .malformed("", format!("{method}: an event's data is not JSON ({e})"))
            })?;
            if message.get("id") == Some(&json!(id)) {
                return Ok(message);
            }
        }
        Err(self.http.malformed(
            "",
            format!("{method}: the event stream ended without the answer to request {id}"),
        ))
    }

    fn result_of(
        &self,
        method: &str,
        id: i64,
        message: Value,
    ) -> Result<Map<String, Value>, BrokerError> {
        if let Some(error) = message.get("error") {
            return Err(BrokerError::Rpc {
                address: self.http.base.clone(),
                method: method.to_owned(),
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
                    .to_owned(),
            });
        }
        if message.get("id") != Some(&json!(id)) {
            return Err(self
                .http
                .malformed("", format!("{method}: the answer is not for request {id}")));
        }
        match message.get("result") {
            Some(Value::Object(result)) => Ok(result.clone()),
            _ => Err(self
                .http
                .malformed("", format!("{method}: the answer has no `result` object"))),
        }
    }

    fn context(&self, method: &str, error: BrokerError) -> BrokerError {
        match error {
            BrokerError::Malformed {
                address,
                path,
                detail,
            } => BrokerError::Malformed {
                address,
                path,
                detail: format!("{method}: {detail}"),
            },
            other => other,
        }
    }

    /// A JSON-RPC notification (no id, no answer expected beyond 202/200).
    async fn notify(&self, method: &str) -> Result<(), BrokerError> {
        let response = self
            .request(reqwest::Method::POST)
            .json(&json!({"jsonrpc": "2.0", "method": method}))
            .send()
            .await
            .map_err(|e| self.http.transport("", &e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        // The status is the error; its body only adds words, unless it is too large to read.
        let bytes = match self.http.body("", response).await {
            Err(error @ BrokerError::BodyTooLarge { .. }) => return Err(error),
            other => other.unwrap_or_default(),
        };
        Err(self.http.status("", status, &bytes))
    }

    async fn close(&self) {
        if self.session_id.is_some()
            && let Err(error) = self.request(reqwest::Method::DELETE).send().await
        {
            tracing::debug!(%error, "closing the MCP session failed");
        }
    }
}

/// An object's keys in sorted order: a JSON object's own order is the server's (and serde_json
/// keeps it when another crate turns on `preserve_order`), and facts must not depend on it.
fn sorted_keys(object: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = object.keys().cloned().collect();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BrokerKind;

    fn session() -> Session {
        let profile = Profile {
            name: "t".into(),
            kind: BrokerKind::Mcp,
            address: url::Url::parse("http://127.0.0.1:9/mcp").unwrap(),
            tls: Default::default(),
            connect_timeout: std::time::Duration::from_secs(1),
            request_timeout: std::time::Duration::from_secs(1),
            credential: None,
            settings: Map::new(),
            transport: Default::default(),
        };
        Session {
            http: Http::new(&profile).unwrap(),
            bearer: None,
            session_id: None,
            protocol_version: None,
            next_id: 1,
        }
    }

    #[test]
    fn the_answer_is_found_among_server_sent_events() {
        let s = session();
        // A notification first, CRLF line ends, data split over two lines.
        let body = "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}\r\n\r\n\
                    event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\r\ndata: \"result\":{\"tools\":[]}}\r\n\r\n";
        let message = s.reply_in_stream("tools/list", 7, body.as_bytes()).unwrap();
        assert_eq!(message["result"]["tools"], json!([]));

        let error = s
            .reply_in_stream("tools/list", 8, body.as_bytes())
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("ended without the answer to request 8"),
            "{error}"
        );
        let error = s
            .reply_in_stream("initialize", 1, b"data: {not json\n\n")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("initialize: an event's data is not JSON"),
            "{error}"
        );
    }

    #[test]
    fn json_rpc_errors_and_wrong_answers_are_clear() {
        let s = session();
        let error = s
            .result_of(
                "tools/list",
                3,
                json!({"jsonrpc": "2.0", "id": 3, "error": {"code": -32601, "message": "Method not found"}}),
            )
            .unwrap_err();
        assert!(
            matches!(&error, BrokerError::Rpc { code: -32601, method, .. } if method == "tools/list"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "http://127.0.0.1:9/mcp: `tools/list` answered JSON-RPC error -32601: Method not found"
        );
        let error = s
            .result_of(
                "tools/list",
                3,
                json!({"jsonrpc": "2.0", "id": 4, "result": {}}),
            )
            .unwrap_err();
        assert!(error.to_string().contains("not for request 3"), "{error}");
        let error = s
            .result_of(
                "tools/list",
                3,
                json!({"jsonrpc": "2.0", "id": 3, "result": []}),
            )
            .unwrap_err();
        assert!(error.to_string().contains("no `result` object"), "{error}");
    }
}
