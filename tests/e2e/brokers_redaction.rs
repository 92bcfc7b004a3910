//! Errors never carry credentials: each connector (OpenBao/Vault, OIDC with the secret in HTTP
//! Basic and in the form, MCP) talks to a server of this test that echoes every request it gets
//! (headers and body) into its error answers, and the error Bridle reports, records and audits
//! holds no form of the credential.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use bridle_brokers::{BrokerError, BrokerKind, Profile, SecretRef, Transport};
use serde_json::{Map, json};

/// An HTTP server on loopback: an OIDC discovery document and an empty JWKS for the issuer
/// paths (advertising `auth_method` for the token endpoint), and for every other request a
/// 400 answer whose body is the request itself.
fn echoing_server(auth_method: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            std::thread::spawn(move || answer(client, port, auth_method));
        }
    });
    port
}

fn answer(mut client: TcpStream, port: u16, auth_method: &str) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(5)))?;
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
    let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        let n = client.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let (status, body) = match path.as_str() {
        "/.well-known/openid-configuration" => (
            "200 OK",
            json!({
                "issuer": format!("http://127.0.0.1:{port}"),
                "jwks_uri": format!("http://127.0.0.1:{port}/keys"),
                "token_endpoint": format!("http://127.0.0.1:{port}/token"),
                "token_endpoint_auth_methods_supported": [auth_method],
                "grant_types_supported": ["client_credentials"],
            })
            .to_string(),
        ),
        "/keys" => ("200 OK", json!({"keys": []}).to_string()),
        _ => (
            "400 Bad Request",
            // The credential-bearing headers first, then the body, then the whole head, so
            // each reaches the part of an answer an error quotes.
            json!({"errors": [format!(
                "you sent: {} | {} | {}",
                String::from_utf8_lossy(&request[..head_end])
                    .lines()
                    .filter(|l| {
                        let l = l.to_lowercase();
                        l.starts_with("authorization") || l.starts_with("x-vault-token")
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                String::from_utf8_lossy(&request[head_end..]),
                String::from_utf8_lossy(&request[..head_end])
            )]})
            .to_string(),
        ),
    };
    write!(
        client,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    client.flush()
}

fn profile(
    kind: BrokerKind,
    port: u16,
    secret_file: &Path,
    settings: serde_json::Value,
) -> Profile {
    let address = match kind {
        BrokerKind::Mcp => format!("http://127.0.0.1:{port}/mcp"),
        _ => format!("http://127.0.0.1:{port}"),
    };
    Profile {
        name: format!("echo-{}", kind.as_str()),
        kind,
        address: url::Url::parse(&address).unwrap(),
        tls: Default::default(),
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        credential: Some(SecretRef::File {
            path: secret_file.to_owned(),
        }),
        settings: match settings {
            serde_json::Value::Object(map) => map,
            _ => Map::new(),
        },
        transport: Transport::default(),
    }
}

/// The forms in which a request carries `secret`: as is, form-encoded, base64, and HTTP Basic.
fn forms(secret: &str, client_id: &str) -> Vec<String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    vec![
        secret.to_owned(),
        encode(secret),
        b64.encode(secret),
        b64.encode(format!("{}:{}", encode(client_id), encode(secret))),
        secret[..12].to_owned(),
    ]
}

fn assert_scrubbed(what: &str, error: &BrokerError, secret: &str, client_id: &str) {
    let shown = error.to_string();
    for form in forms(secret, client_id) {
        assert!(!shown.contains(&form), "{what} leaks `{form}`: {shown}");
    }
    // The server did echo the request: the scrubbing, not the server, kept it out.
    assert!(shown.contains("[redacted]"), "{what}: {shown}");
    assert!(shown.contains("you sent"), "{what}: {shown}");
}

#[test]
fn every_connector_scrubs_an_echoed_credential_from_its_errors() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Characters that change under form-encoding, so every encoded form is exercised.
    let secret = format!("echo-secret/+%:{}", std::process::id());
    let secret_file = dir.path().join("secret");
    crate::support::write_secret(&secret_file, format!("{secret}\n"));

    let port = echoing_server("client_secret_basic");
    let vault = profile(BrokerKind::Openbao, port, &secret_file, json!({}));
    let error = runtime
        .block_on(bridle_brokers::openbao::collect(&vault))
        .unwrap_err();
    assert_scrubbed("openbao sync", &error, &secret, "-");
    let error = runtime
        .block_on(bridle_brokers::openbao::test_connection(&vault))
        .unwrap_err();
    assert_scrubbed("openbao test", &error, &secret, "-");
    let error = runtime
        .block_on(bridle_brokers::openbao::revoke_accessor(&vault, "acc"))
        .unwrap_err();
    assert_scrubbed("openbao revoke", &error, &secret, "-");

    let client_id = "bridle:client";
    let oidc = profile(
        BrokerKind::Oidc,
        port,
        &secret_file,
        json!({"client_id": client_id}),
    );
    let error = runtime
        .block_on(bridle_brokers::oidc::collect(&oidc))
        .unwrap_err();
    assert_scrubbed("oidc, secret in Basic", &error, &secret, client_id);
    let port_post = echoing_server("client_secret_post");
    let oidc = profile(
        BrokerKind::Oidc,
        port_post,
        &secret_file,
        json!({"client_id": client_id}),
    );
    let error = runtime
        .block_on(bridle_brokers::oidc::collect(&oidc))
        .unwrap_err();
    assert_scrubbed("oidc, secret in the form", &error, &secret, client_id);

    let mcp = profile(BrokerKind::Mcp, port, &secret_file, json!({}));
    let error = runtime
        .block_on(bridle_brokers::mcp::collect(&mcp))
        .unwrap_err();
    assert_scrubbed("mcp", &error, &secret, "-");
}
