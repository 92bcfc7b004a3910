//! Bounded reads end to end: a broker answer past the body cap of its kind, and an OpenBao/Vault
//! crawl past a profile's `max_items` or `max_depth`, fail `bridle sync` with the limit in the
//! error; the run is recorded as failed and the inventory is left as it was.
//!
//! The oversized answers come from a loopback server of this test (an OpenBao/Vault, an OIDC
//! issuer and an MCP server, each just enough of one for a good sync, then switched to answering
//! one request with too much); the crawl limits are tried against a real `bao` dev server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::broker_support::Bao;
use crate::support::{Sandbox, demo_estate};

const MIB: usize = 1024 * 1024;

/// How the test server sends a body.
enum Body {
    /// With `Content-Length`.
    Sized(Vec<u8>),
    /// Chunked, without a length: the reader only learns the size by reading.
    Chunked(Vec<u8>),
    /// A chunked event stream of comments that never ends (until the client hangs up).
    EndlessEvents,
}

struct Reply {
    status: &'static str,
    content_type: &'static str,
    body: Body,
}

fn json_reply(status: &'static str, body: &Value) -> Reply {
    Reply {
        status,
        content_type: "application/json",
        body: Body::Sized(body.to_string().into_bytes()),
    }
}

/// `PREFIX"pad":"xxx…"}` (`prefix` opens an object, e.g. `{"data":{},`): exactly `size` bytes
/// of valid JSON.
fn padded_json(size: usize, prefix: &str) -> Vec<u8> {
    let frame = format!("{prefix}\"pad\":\"\"}}");
    let mut body = format!("{prefix}\"pad\":\"");
    body.push_str(&"x".repeat(size - frame.len()));
    body.push_str("\"}");
    assert_eq!(body.len(), size);
    body.into_bytes()
}

/// One request as the test server read it.
struct Request {
    method: String,
    path: String,
    body: Value,
}

/// A loopback HTTP/1.1 server answering every request with `handler`'s reply (one request per
/// connection); its port.
fn serve(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let handler = Arc::clone(&handler);
            std::thread::spawn(move || answer(client, &*handler));
        }
    });
    port
}

fn answer(mut client: TcpStream, handler: &dyn Fn(&Request) -> Reply) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while request.len() < head_end + length {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let mut words = head.split_whitespace();
    let parsed = Request {
        method: words.next().unwrap_or("").to_owned(),
        path: words.next().unwrap_or("/").to_owned(),
        body: serde_json::from_slice(&request[head_end..]).unwrap_or(Value::Null),
    };
    let reply = handler(&parsed);
    let (status, content_type) = (reply.status, reply.content_type);
    match reply.body {
        Body::Sized(body) => {
            write!(
                client,
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )?;
            client.write_all(&body)?;
        }
        Body::Chunked(body) => {
            write!(
                client,
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            )?;
            for chunk in body.chunks(64 * 1024) {
                write!(client, "{:x}\r\n", chunk.len())?;
                client.write_all(chunk)?;
                client.write_all(b"\r\n")?;
            }
            client.write_all(b"0\r\n\r\n")?;
        }
        Body::EndlessEvents => {
            write!(
                client,
                "HTTP/1.1 {status}\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            )?;
            // SSE comments: a stream that never carries the answer, and never ends.
            let comment = format!(": {}\n\n", "x".repeat(4 * 1024));
            loop {
                write!(client, "{:x}\r\n{comment}\r\n", comment.len())?;
            }
        }
    }
    client.flush()
}

/// Just enough of an OpenBao/Vault for a sync (a valid token, no mounts, 404 for every list);
/// when `oversized`, `sys/mounts` answers 8 MiB + 1 byte, chunked without a length.
fn fake_openbao(oversized: Arc<AtomicBool>) -> u16 {
    serve(move |request| match request.path.as_str() {
        "/v1/auth/token/lookup-self" => {
            json_reply("200 OK", &json!({"data": {"policies": ["root"], "ttl": 0}}))
        }
        "/v1/sys/mounts" if oversized.load(Ordering::Relaxed) => Reply {
            status: "200 OK",
            content_type: "application/json",
            body: Body::Chunked(padded_json(8 * MIB + 1, "{\"data\":{},")),
        },
        "/v1/sys/mounts" => json_reply("200 OK", &json!({"data": {}})),
        _ => json_reply("404 Not Found", &json!({"errors": []})),
    })
}

/// An OIDC issuer's discovery document and JWKS; when `oversized`, the JWKS announces and sends
/// 1 MiB + 1 byte.
fn fake_issuer(oversized: Arc<AtomicBool>) -> u16 {
    // The discovery document names the issuer's own address, known once the server listens.
    let port = Arc::new(std::sync::OnceLock::<u16>::new());
    let known = Arc::clone(&port);
    let actual = serve(move |request| {
        let base = format!(
            "http://127.0.0.1:{}",
            known.get().expect("the port is known")
        );
        match request.path.as_str() {
            "/.well-known/openid-configuration" => json_reply(
                "200 OK",
                &json!({"issuer": base, "jwks_uri": format!("{base}/keys")}),
            ),
            "/keys" if oversized.load(Ordering::Relaxed) => Reply {
                status: "200 OK",
                content_type: "application/json",
                body: Body::Sized(padded_json(MIB + 1, "{\"keys\":[],")),
            },
            "/keys" => json_reply(
                "200 OK",
                &json!({"keys": [{"kty": "EC", "kid": "k1", "crv": "P-256", "use": "sig"}]}),
            ),
            _ => json_reply("404 Not Found", &json!({})),
        }
    });
    port.set(actual).expect("set once");
    actual
}

/// An MCP server with one tool; when `oversized`, `tools/list` answers with an event stream
/// that never ends.
fn fake_mcp(oversized: Arc<AtomicBool>) -> u16 {
    serve(move |request| {
        if request.method != "POST" {
            return json_reply("405 Method Not Allowed", &json!({}));
        }
        let id = request.body["id"].clone();
        match request.body["method"].as_str() {
            Some("initialize") => json_reply(
                "200 OK",
                &json!({"jsonrpc": "2.0", "id": id, "result": {
                    "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "limits-test", "version": "1"}}}),
            ),
            Some("notifications/initialized") => Reply {
                status: "202 Accepted",
                content_type: "application/json",
                body: Body::Sized(Vec::new()),
            },
            Some("tools/list") if oversized.load(Ordering::Relaxed) => Reply {
                status: "200 OK",
                content_type: "text/event-stream",
                body: Body::EndlessEvents,
            },
            Some("tools/list") => json_reply(
                "200 OK",
                &json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [{
                    "name": "lookup", "description": "Looks things up",
                    "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
                    "annotations": {"readOnlyHint": true}}]}}),
            ),
            _ => json_reply("400 Bad Request", &json!({})),
        }
    })
}

/// `bridle sync NAME --json` (exit 0 or 1): its report.
fn sync(sandbox: &Sandbox, name: &str) -> Value {
    let run = sandbox.bridle(&["sync", name, "--json"]);
    assert!(
        run.code == 0 || run.code == 1,
        "sync exited {}: {}",
        run.code,
        run.stderr
    );
    run.json()
}

fn snapshot_count(sandbox: &Sandbox) -> usize {
    sandbox
        .bridle(&["snapshots", "--json"])
        .json()
        .as_array()
        .expect("snapshots --json prints an array")
        .len()
}

/// The sync of `name` fails with every one of `needles` in its error, the run is on record as
/// failed, and neither the inventory nor the snapshots changed.
fn assert_sync_fails_and_changes_nothing(sandbox: &Sandbox, name: &str, needles: &[&str]) {
    let baseline = sandbox.export("before.json", None);
    let snapshots = snapshot_count(sandbox);
    let report = sync(sandbox, name);
    assert_eq!(report["run"]["status"], "failed", "{name}: {report}");
    let error = report["run"]["error"]
        .as_str()
        .expect("a failed run has an error");
    for needle in needles {
        assert!(error.contains(needle), "{name}: `{needle}` not in: {error}");
    }
    assert_eq!(
        sandbox.export("after.json", None),
        baseline,
        "{name}: the inventory changed"
    );
    assert_eq!(
        snapshot_count(sandbox),
        snapshots,
        "{name}: a snapshot was added"
    );
    let show = sandbox.bridle(&["broker", "show", name, "--json"]).json();
    let last = show["runs"]
        .as_array()
        .and_then(|runs| runs.iter().max_by_key(|r| r["id"].as_i64()))
        .unwrap_or_else(|| panic!("{name} has runs: {show}"));
    assert_eq!(last["status"], "failed", "{show}");
    assert_eq!(last["error"], error, "{show}");
}

#[test]
fn an_answer_past_the_body_cap_of_its_kind_fails_the_sync_and_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.import(&demo_estate(), &[]);
    let token_file = sandbox.write_secret("token", "fake-token-for-a-fake-server");

    let bao_big = Arc::new(AtomicBool::new(false));
    let bao = fake_openbao(Arc::clone(&bao_big));
    let issuer_big = Arc::new(AtomicBool::new(false));
    let issuer = fake_issuer(Arc::clone(&issuer_big));
    let mcp_big = Arc::new(AtomicBool::new(false));
    let mcp = fake_mcp(Arc::clone(&mcp_big));
    let credential = format!("file:{}", token_file.display());
    for args in [
        vec![
            "bao".to_owned(),
            "--kind".into(),
            "openbao".into(),
            "--address".into(),
            format!("http://127.0.0.1:{bao}"),
            "--credential".into(),
            credential.clone(),
        ],
        vec![
            "idp".into(),
            "--kind".into(),
            "oidc".into(),
            "--address".into(),
            format!("http://127.0.0.1:{issuer}"),
        ],
        vec![
            "tools".into(),
            "--kind".into(),
            "mcp".into(),
            "--address".into(),
            format!("http://127.0.0.1:{mcp}/mcp"),
        ],
    ] {
        let mut full = vec!["broker".to_owned(), "add".into()];
        full.extend(args);
        sandbox.bridle(&full).ok();
    }
    for name in ["bao", "idp", "tools"] {
        let report = sync(&sandbox, name);
        assert_eq!(report["run"]["status"], "ok", "{name}: {report}");
    }
    assert!(
        sandbox
            .list("tools")
            .iter()
            .any(|t| t["id"] == format!("mcp:http://127.0.0.1:{mcp}/mcp#lookup")),
        "the good MCP sync landed"
    );

    // OpenBao/Vault: 8 MiB + 1 byte, no length announced: stopped while reading.
    bao_big.store(true, Ordering::Relaxed);
    assert_sync_fails_and_changes_nothing(
        &sandbox,
        "bao",
        &[&format!(
            "http://127.0.0.1:{bao}/v1/sys/mounts: the answer is larger than 8 MiB (8388608 bytes, \
             the limit for an OpenBao/Vault response); Bridle stopped reading it"
        )],
    );
    // OIDC: the JWKS announces 1 MiB + 1 byte: refused on its length.
    issuer_big.store(true, Ordering::Relaxed);
    assert_sync_fails_and_changes_nothing(
        &sandbox,
        "idp",
        &[&format!(
            "http://127.0.0.1:{issuer}/keys: the answer is larger than 1 MiB (1048576 bytes, the \
             limit for an OIDC discovery document, JWKS or token response); Bridle stopped reading it"
        )],
    );
    // MCP: an event stream without end: abandoned at 4 MiB, not read until the timeout.
    mcp_big.store(true, Ordering::Relaxed);
    assert_sync_fails_and_changes_nothing(
        &sandbox,
        "tools",
        &[&format!(
            "http://127.0.0.1:{mcp}/mcp: the answer is larger than 4 MiB (4194304 bytes, the \
             limit for an MCP response); Bridle stopped reading it"
        )],
    );
    sandbox.bridle(&["audit", "verify"]).ok();
}

/// `bridle broker add NAME --kind openbao --address ADDRESS --credential file:TOKEN EXTRA…`.
fn add_openbao(
    sandbox: &Sandbox,
    name: &str,
    address: &str,
    token: &Path,
    extra: &[&str],
) -> crate::support::Run {
    let credential = format!("file:{}", token.display());
    let mut args = vec![
        "broker",
        "add",
        name,
        "--kind",
        "openbao",
        "--address",
        address,
        "--credential",
        &credential,
        "--timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    sandbox.bridle(&args)
}

#[test]
fn an_openbao_crawl_past_max_items_or_max_depth_fails_the_sync_naming_the_limit() {
    let sandbox = Sandbox::new();
    let bao = Bao::start(&sandbox.path(""));
    // Eight secrets in one folder of the dev server's KV v2 mount `secret/`: with the folder,
    // nine entries of the KV crawl.
    for n in 1..=8 {
        bao.run(&["kv", "put", &format!("secret/many/k{n}"), "v=1"]);
    }
    let token = sandbox.write_secret("root-token", &bao.root_token);
    let address = bao.address();

    // Bad limits are refused when the profile is added, naming the setting.
    for (value, setting) in [
        ("max_items=0", "max_items"),
        ("max_items=lots", "max_items"),
        ("max_items=1000001", "max_items"),
        ("max_depth=257", "max_depth"),
    ] {
        let bad = add_openbao(&sandbox, "bad", &address, &token, &["--setting", value]);
        bad.expect_code(2);
        assert!(
            bad.stderr.contains(&format!("setting `{setting}`"))
                && bad.stderr.contains("expected a whole number from 1 to"),
            "{value}: {}",
            bad.stderr
        );
    }

    add_openbao(&sandbox, "bao", &address, &token, &[]).ok();
    add_openbao(
        &sandbox,
        "small",
        &address,
        &token,
        &["--setting", "max_items=5"],
    )
    .ok();
    let good = sync(&sandbox, "bao");
    assert_eq!(good["run"]["status"], "ok", "{good}");
    assert!(
        sandbox
            .list("resources")
            .iter()
            .any(|r| r["id"] == "vault:bao:secret/data/many/k8"),
        "with the default limits every secret is read"
    );
    assert_sync_fails_and_changes_nothing(
        &sandbox,
        "small",
        &[
            &format!(
                "{address}: more than 5 KV secrets and folders (the limit `max_items`, reached \
                 at `secret/many/`)"
            ),
            "Raise the limit with the profile setting `max_items` (`--setting max_items=N` on \
             `bridle broker add`, at most 1000000)",
        ],
    );
    assert!(
        !sandbox.list("resources").iter().any(|r| r["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("vault:small:"))),
        "nothing of the failed crawl was kept"
    );

    // A tree deeper than `max_depth` folders.
    bao.run(&["kv", "put", "secret/a/b/c/d/deep", "v=1"]);
    add_openbao(
        &sandbox,
        "shallow",
        &address,
        &token,
        &["--setting", "max_depth=3"],
    )
    .ok();
    assert_sync_fails_and_changes_nothing(
        &sandbox,
        "shallow",
        &[
            &format!(
                "{address}: KV folder `secret/a/b/c/d/` is more than 3 folders deep (the limit \
                 `max_depth`)"
            ),
            "`--setting max_depth=N` on `bridle broker add`, at most 256",
        ],
    );
    let again = sync(&sandbox, "bao");
    assert_eq!(again["run"]["status"], "ok", "{again}");
}
