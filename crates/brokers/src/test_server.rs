//! A hand-written HTTP/1.1 server on loopback for the unit tests: each connection is one request
//! and one answer, written exactly as the test says (a sized, chunked, endless or broken body).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// How the answer's body is sent.
pub(crate) enum Body {
    /// `Content-Length` and the bytes.
    Sized(Vec<u8>),
    /// Chunked, no length announced.
    Chunked(Vec<u8>),
    /// Chunked, without end (until the client hangs up).
    Endless,
    /// `Content-Length: n`, then no body at all: the answer breaks off.
    Announced(u64),
}

pub(crate) struct Reply {
    pub status: u16,
    pub body: Body,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Reply {
        Reply {
            status,
            body: Body::Sized(body.to_string().into_bytes()),
        }
    }
}

/// One request: its path (with the query).
pub(crate) struct Request {
    pub path: String,
}

/// A running server: its base address, and for each answered request whether the client hung
/// up while the answer was still being written.
pub(crate) struct Server {
    pub address: String,
    pub hung_up: mpsc::Receiver<bool>,
}

pub(crate) fn serve(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port is free");
    let address = format!("http://{}", listener.local_addr().expect("a local address"));
    let (sender, hung_up) = mpsc::channel();
    let handler = std::sync::Arc::new(handler);
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let handler = std::sync::Arc::clone(&handler);
            let sender = sender.clone();
            std::thread::spawn(move || {
                if let Some(broke) = answer(client, &*handler) {
                    let _ = sender.send(broke);
                }
            });
        }
    });
    Server { address, hung_up }
}

/// Answers one request; `Some(true)` when writing the answer failed (the client left).
fn answer(mut client: TcpStream, handler: &dyn Fn(&Request) -> Reply) -> Option<bool> {
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    let end = loop {
        let n = client.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buffer[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    // The request body is not looked at, but read whole: closing a socket with unread input
    // resets the connection before the client reads the answer.
    let length: usize = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut read = head.len() - (end + 4);
    while read < length {
        let n = client.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let request = Request {
        path: text.split_whitespace().nth(1).unwrap_or("/").to_owned(),
    };
    let reply = handler(&request);
    Some(write_reply(&mut client, reply).is_err())
}

fn write_reply(client: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let status = reply.status;
    let chunked = "transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    match reply.body {
        Body::Sized(body) => {
            write!(
                client,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )?;
            client.write_all(&body)?;
        }
        Body::Announced(length) => {
            write!(
                client,
                "HTTP/1.1 {status} X\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
            )?;
        }
        Body::Chunked(body) => {
            write!(client, "HTTP/1.1 {status} X\r\n{chunked}")?;
            for chunk in body.chunks(1000) {
                write!(client, "{:x}\r\n", chunk.len())?;
                client.write_all(chunk)?;
                client.write_all(b"\r\n")?;
            }
            client.write_all(b"0\r\n\r\n")?;
        }
        Body::Endless => {
            write!(client, "HTTP/1.1 {status} X\r\n{chunked}")?;
            let chunk = [b'x'; 1000];
            loop {
                write!(client, "{:x}\r\n", chunk.len())?;
                client.write_all(&chunk)?;
                client.write_all(b"\r\n")?;
            }
        }
    }
    client.flush()
}
