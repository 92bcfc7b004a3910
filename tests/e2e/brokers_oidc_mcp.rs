//! The OIDC and MCP connectors against real servers started on free loopback ports: the npm
//! `oidc-provider` issuing short-lived client-credentials JWTs (`tests/servers/oidc_issuer.mjs`)
//! and a FastMCP/MCPServer tool server with known tools and annotations
//! (`tests/servers/mcp_tools_server.py`), both installed by `cargo xtask test-servers`. Faults
//! (truncated and corrupted answers) come from a small proxy of the test's own in front of the
//! real issuer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bridle_brokers::{BrokerError, BrokerKind, Collected, Observation, Profile, SecretRef};
use serde_json::{Map, Value, json};

use crate::support::workspace_root;

/// `<target>/test-servers`, where `cargo xtask test-servers` installs the servers.
fn test_servers() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        workspace_root().join(target)
    };
    target.join("test-servers")
}

fn installed(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask test-servers` to install the pinned test servers",
        path.display()
    );
    path
}

/// A server process killed when the test ends, however it ends.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` and waits (at most 30 s) for its `listening <port>` line.
fn start(mut command: Command, what: &str) -> Server {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the {what}: {e}"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(port) = line.strip_prefix("listening ") {
                let _ = sender.send(port.trim().parse::<u16>().ok());
            }
        }
    });
    let port = match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(port)) => port,
        other => {
            let _ = child.kill();
            panic!("the {what} did not report its port: {other:?}");
        }
    };
    Server { child, port }
}

const CLIENT_ID: &str = "ticket-agent";
const AUDIENCE: &str = "https://tickets.example.test";
const SCOPE: &str = "tickets:read tickets:write";
const TOKEN_TTL: u64 = 120;

fn start_issuer(secret: &str) -> Server {
    let module = installed(test_servers().join("node/node_modules/oidc-provider/lib/index.js"));
    let mut command = Command::new("node");
    command
        .arg(workspace_root().join("tests/servers/oidc_issuer.mjs"))
        .env("OIDC_PROVIDER_MODULE", module)
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", secret)
        .env("OIDC_AUDIENCE", AUDIENCE)
        .env("OIDC_SCOPE", SCOPE)
        .env("ACCESS_TOKEN_TTL", TOKEN_TTL.to_string());
    start(command, "OIDC issuer (oidc-provider)")
}

fn start_mcp(bearer: Option<&str>, json_response: bool) -> Server {
    let python = installed(test_servers().join("venv/bin/python"));
    let mut command = Command::new(python);
    command.arg(workspace_root().join("tests/servers/mcp_tools_server.py"));
    if let Some(token) = bearer {
        command.env("MCP_BEARER_TOKEN", token);
    }
    if json_response {
        command.env("MCP_JSON_RESPONSE", "1");
    }
    start(command, "MCP tool server (mcp MCPServer)")
}

/// A random-enough secret per run (never a constant that could hide in a fixture).
fn fresh_secret(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{nanos:x}-{}", std::process::id())
}

fn profile(kind: BrokerKind, address: &str, credential: Option<&Path>, settings: Value) -> Profile {
    Profile {
        name: format!("test-{}", kind.as_str()),
        kind,
        address: url::Url::parse(address).unwrap(),
        tls: Default::default(),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        credential: credential.map(|path| SecretRef::File {
            path: path.to_owned(),
        }),
        settings: match settings {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        transport: Default::default(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn observation<'a>(collected: &'a Collected, kind: &str, id: &str) -> &'a Observation {
    collected
        .observations
        .iter()
        .find(|o| o.kind == kind && o.id == id)
        .unwrap_or_else(|| {
            panic!(
                "no {kind} observation {id} in {:#?}",
                collected.observations
            )
        })
}

#[test]
fn oidc_issuer_token_lifetime_scope_and_audience_are_recorded() {
    // Characters that must be form-encoded inside HTTP Basic (RFC 6749 §2.3.1).
    let secret = fresh_secret("client:secret/+%");
    let issuer = start_issuer(&secret);
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("client-secret");
    crate::support::write_secret(&secret_file, format!("{secret}\n"));
    let address = format!("http://127.0.0.1:{}", issuer.port);
    let rt = runtime();

    let with_client = profile(
        BrokerKind::Oidc,
        &address,
        Some(&secret_file),
        json!({"client_id": CLIENT_ID, "scope": SCOPE, "audience": AUDIENCE}),
    );
    let collected = rt
        .block_on(bridle_brokers::oidc::collect(&with_client))
        .unwrap_or_else(|e| panic!("collecting from the issuer failed: {e}"));

    let discovery = &observation(&collected, "oidc.issuer", &address).facts;
    assert_eq!(discovery["issuer_matches_address"], true);
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("client_credentials")),
        "{discovery:?}"
    );
    let keys: Vec<&Observation> = collected
        .observations
        .iter()
        .filter(|o| o.kind == "oidc.key")
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].facts["kty"], "RSA");
    assert_eq!(keys[0].facts["alg"], "RS256");
    assert_eq!(keys[0].facts["rsa_bits"], 2048);

    let client = format!("oidc:{address}#{CLIENT_ID}");
    let token = &observation(&collected, "oidc.token", &client).facts;
    assert_eq!(token["format"], "jwt");
    assert_eq!(token["lifetime_seconds"], TOKEN_TTL);
    assert_eq!(token["expires_in"], TOKEN_TTL);
    assert_eq!(token["scope"], SCOPE);
    assert_eq!(token["aud"], AUDIENCE);
    assert_eq!(token["sub"], CLIENT_ID);
    assert_eq!(token["iss"], address);
    assert_eq!(token["alg"], "RS256");
    assert_eq!(
        token["exp"].as_i64().unwrap() - token["iat"].as_i64().unwrap(),
        TOKEN_TTL as i64
    );

    let identity = &collected.estate.identities[0];
    assert_eq!(identity.id, client);
    assert_eq!(identity.kind.as_str(), "oidc_client");
    let credential = &collected.estate.credentials[0];
    assert_eq!(credential.identity, client);
    assert_eq!(credential.kind.as_str(), "oauth_client_secret");
    let grant = &collected.estate.grants[0];
    assert_eq!(grant.subject, client);
    assert_eq!(grant.target, format!("oidc-audience:{AUDIENCE}"));
    assert_eq!(grant.actions.words(), ["read", "write"]);

    // The secret and the token are nowhere in what was collected.
    let everything = format!("{collected:?}");
    assert!(!everything.contains(&secret), "the client secret leaked");
    assert!(!everything.contains("eyJ"), "a JWT leaked: {everything}");

    // Without a client: discovery and keys only, the token part said to be unknown.
    let anonymous = profile(BrokerKind::Oidc, &address, None, json!({}));
    let partial = rt
        .block_on(bridle_brokers::oidc::collect(&anonymous))
        .unwrap();
    assert!(partial.estate.identities.is_empty());
    assert_eq!(partial.unknowns[0].part, "client-credentials token");

    // A wrong secret: a clear 401, and neither secret in the error or its Debug form.
    let wrong_file = dir.path().join("wrong-secret");
    let wrong = fresh_secret("wrong");
    crate::support::write_secret(&wrong_file, &wrong);
    let bad_client = profile(
        BrokerKind::Oidc,
        &address,
        Some(&wrong_file),
        json!({"client_id": CLIENT_ID}),
    );
    let error = rt
        .block_on(bridle_brokers::oidc::collect(&bad_client))
        .unwrap_err();
    let shown = format!("{error} / {error:?}");
    assert!(
        matches!(error, BrokerError::Status { status: 401, .. }),
        "{shown}"
    );
    assert!(shown.contains("invalid_client"), "{shown}");
    assert!(
        !shown.contains(&wrong) && !shown.contains(&secret),
        "{shown}"
    );
}

/// What the fault proxy does to each answer of the real server.
#[derive(Clone, Copy)]
enum Fault {
    /// Half the body, then the connection closes.
    Truncate,
    /// Same length, but `"` become `'`: no longer JSON.
    Corrupt,
    /// Reads the request and never answers.
    Hang,
}

/// A proxy on a free loopback port in front of `upstream`, applying `fault` to every answer.
fn fault_proxy(upstream: u16, fault: Fault) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            std::thread::spawn(move || relay(&mut client, upstream, fault));
        }
    });
    port
}

fn relay(client: &mut TcpStream, upstream: u16, fault: Fault) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
    }
    if let Fault::Hang = fault {
        std::thread::sleep(Duration::from_secs(30));
        return Ok(());
    }
    // One request per connection: ask the server to close, then read its whole answer.
    let text = String::from_utf8_lossy(&request).into_owned();
    let (line, rest) = text.split_once("\r\n").unwrap_or((&text, ""));
    let rest: Vec<&str> = rest
        .split("\r\n")
        .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let forwarded = format!("{line}\r\nConnection: close\r\n{}", rest.join("\r\n"));
    let mut server = TcpStream::connect(("127.0.0.1", upstream))?;
    server.write_all(forwarded.as_bytes())?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |p| p + 4);
    let (head, body) = answer.split_at(split);
    let body: Vec<u8> = match fault {
        Fault::Truncate => body[..body.len() / 2].to_vec(),
        Fault::Corrupt => body
            .iter()
            .map(|&b| if b == b'"' { b'\'' } else { b })
            .collect(),
        Fault::Hang => Vec::new(),
    };
    client.write_all(head)?;
    client.write_all(&body)?;
    client.flush()
}

#[test]
fn oidc_faults_are_clear_errors_naming_the_path() {
    let issuer = start_issuer(&fresh_secret("unused"));
    let rt = runtime();
    for (fault, expected) in [(Fault::Truncate, "broke off"), (Fault::Corrupt, "not JSON")] {
        let port = fault_proxy(issuer.port, fault);
        let address = format!("http://127.0.0.1:{port}");
        let error = rt
            .block_on(bridle_brokers::oidc::collect(&profile(
                BrokerKind::Oidc,
                &address,
                None,
                json!({}),
            )))
            .unwrap_err();
        let shown = error.to_string();
        assert!(matches!(error, BrokerError::Malformed { .. }), "{shown}");
        assert!(shown.contains(&address), "{shown}");
        assert!(
            shown.contains("/.well-known/openid-configuration"),
            "{shown}"
        );
        assert!(shown.contains(expected), "{shown}");
    }

    // A server that never answers: the profile's request timeout fires.
    let port = fault_proxy(issuer.port, Fault::Hang);
    let mut hanging = profile(
        BrokerKind::Oidc,
        &format!("http://127.0.0.1:{port}"),
        None,
        json!({}),
    );
    hanging.request_timeout = Duration::from_secs(1);
    // The error kind says the profile's timeout fired (not a connection error or an answer).
    let error = rt
        .block_on(bridle_brokers::oidc::collect(&hanging))
        .unwrap_err();
    assert!(matches!(error, BrokerError::Timeout { .. }), "{error}");

    // Nothing listening: a connection error naming the address.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let error = rt
        .block_on(bridle_brokers::oidc::collect(&profile(
            BrokerKind::Oidc,
            &format!("http://127.0.0.1:{port}"),
            None,
            json!({}),
        )))
        .unwrap_err();
    assert!(matches!(error, BrokerError::Connect { .. }), "{error}");
}

fn tool_facts<'a>(collected: &'a Collected, address: &str, name: &str) -> &'a Map<String, Value> {
    &observation(collected, "mcp.tool", &format!("mcp:{address}#{name}")).facts
}

#[test]
fn mcp_tools_and_annotations_over_sse_with_bearer_auth() {
    let token = fresh_secret("mcp-token");
    let server = start_mcp(Some(&token), false);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("mcp-token");
    crate::support::write_secret(&token_file, &token);
    let address = format!("http://127.0.0.1:{}/mcp", server.port);
    let rt = runtime();

    let collected = rt
        .block_on(bridle_brokers::mcp::collect(&profile(
            BrokerKind::Mcp,
            &address,
            Some(&token_file),
            json!({}),
        )))
        .unwrap_or_else(|e| panic!("collecting from the MCP server failed: {e}"));

    // Five tools served two per page: all of them means every cursor was followed.
    let mut names: Vec<&str> = collected
        .estate
        .tools
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "create_ticket",
            "delete_ticket",
            "search_tickets",
            "send_customer_email",
            "ticket_stats"
        ]
    );
    for tool in &collected.estate.tools {
        assert_eq!(tool.server.as_deref(), Some(address.as_str()));
        assert_eq!(tool.id, format!("mcp:{address}#{}", tool.name));
    }

    let server_facts = &observation(&collected, "mcp.server", &address).facts;
    assert_eq!(server_facts["auth"], "bearer");
    assert_eq!(server_facts["server_name"], "helpdesk-tools");
    assert_eq!(server_facts["server_version"], "1.4.0");
    assert_eq!(server_facts["session"], true);
    assert_eq!(server_facts["tool_count"], 5);

    let delete = tool_facts(&collected, &address, "delete_ticket");
    assert_eq!(delete["destructiveHint"], true);
    assert_eq!(delete["readOnlyHint"], false);
    assert_eq!(delete["idempotentHint"], true);
    assert_eq!(delete["openWorldHint"], false);
    assert_eq!(delete["effective_destructive"], true);
    assert_eq!(delete["title"], "Delete ticket");

    let search = tool_facts(&collected, &address, "search_tickets");
    assert_eq!(search["readOnlyHint"], true);
    assert_eq!(search["effective_read_only"], true);
    assert_eq!(search["effective_destructive"], false);
    assert_eq!(search["input_properties"], json!(["limit", "query"]));

    // No annotations declared: the specification's defaults (may destroy, open world).
    let email = tool_facts(&collected, &address, "send_customer_email");
    assert_eq!(email["destructiveHint"], Value::Null);
    assert_eq!(email["effective_destructive"], true);
    assert_eq!(email["effective_open_world"], true);

    assert!(
        !format!("{collected:?}").contains(&token),
        "the token leaked"
    );

    // A wrong token and no token: 401 with the server's challenge, the token nowhere.
    let wrong_file = dir.path().join("wrong");
    let wrong = fresh_secret("wrong-token");
    crate::support::write_secret(&wrong_file, &wrong);
    for credential in [Some(wrong_file.as_path()), None] {
        let error = rt
            .block_on(bridle_brokers::mcp::collect(&profile(
                BrokerKind::Mcp,
                &address,
                credential,
                json!({}),
            )))
            .unwrap_err();
        let shown = format!("{error} / {error:?}");
        assert!(
            matches!(error, BrokerError::Status { status: 401, .. }),
            "{shown}"
        );
        assert!(shown.contains("WWW-Authenticate: Bearer"), "{shown}");
        assert!(
            !shown.contains(&wrong) && !shown.contains(&token),
            "{shown}"
        );
    }
}

#[test]
fn mcp_plain_json_replies_without_auth() {
    let server = start_mcp(None, true);
    let address = format!("http://127.0.0.1:{}/mcp", server.port);
    let rt = runtime();
    let collected = rt
        .block_on(bridle_brokers::mcp::collect(&profile(
            BrokerKind::Mcp,
            &address,
            None,
            json!({}),
        )))
        .unwrap_or_else(|e| panic!("collecting from the MCP server failed: {e}"));
    assert_eq!(collected.estate.tools.len(), 5);
    assert_eq!(
        observation(&collected, "mcp.server", &address).facts["auth"],
        "none"
    );
    assert_eq!(
        tool_facts(&collected, &address, "ticket_stats")["readOnlyHint"],
        true
    );

    // Not an MCP endpoint: the server's 404 is a clear status error.
    let error = rt
        .block_on(bridle_brokers::mcp::collect(&profile(
            BrokerKind::Mcp,
            &format!("http://127.0.0.1:{}/not-mcp", server.port),
            None,
            json!({}),
        )))
        .unwrap_err();
    assert!(
        matches!(error, BrokerError::Status { status: 404, .. }),
        "{error}"
    );
}
