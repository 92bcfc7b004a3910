//! A loopback HTTP server whose answers the running case decides, so that the OIDC and MCP
//! connectors read generated answers through their real HTTP code. One connection per request
//! (`Connection: close`), served in order: the connectors never send two requests at once.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// A request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    pub body: Vec<u8>,
}

/// An answer the case chose.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `Content-Length` announces the whole body, but only this many bytes are sent before the
    /// connection closes.
    pub cut: Option<usize>,
}

impl Reply {
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            cut: None,
        }
    }
}

pub type Handler = Box<dyn FnMut(&Request) -> Reply + Send>;

#[derive(Default)]
struct State {
    handler: Option<Handler>,
    /// Each request served since the handler was set, with the status it got.
    served: Vec<(Request, u16)>,
}

/// The server: a listener on a free loopback port and a thread that answers with the current
/// handler. The thread ends with the process (it blocks in `accept`).
pub struct Server {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                // A client that hangs up mid-request is the case's business, not the server's.
                let _ = answer(stream, &shared);
            }
        });
        Server { port, state }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Answers every following request with `handler`, forgetting what was served before.
    pub fn serve(&self, handler: Handler) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.handler = Some(handler);
        state.served.clear();
    }

    /// The requests served since [`Server::serve`], with their statuses.
    pub fn served(&self) -> Vec<(Request, u16)> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .served
            .clone()
    }
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let target = words.next().unwrap_or_default().to_owned();
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request {
        method,
        target,
        body: buffer[head_end..].to_vec(),
    }))
}

fn answer(mut stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let Some(request) = read_request(&mut stream)? else {
        return Ok(());
    };
    let reply = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        let reply = match state.handler.as_mut() {
            Some(handler) => handler(&request),
            None => Reply::empty(503),
        };
        state.served.push((request, reply.status));
        reply
    };
    let mut head = format!(
        "HTTP/1.1 {} Fuzzed\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let sent = reply
        .cut
        .map_or(reply.body.len(), |cut| cut.min(reply.body.len()));
    // One write, without Nagle's delay: a head and a body written apart wait for the client's
    // delayed acknowledgement (40 ms a request).
    stream.set_nodelay(true)?;
    let mut message = head.into_bytes();
    message.extend_from_slice(&reply.body[..sent]);
    stream.write_all(&message)?;
    stream.flush()?;
    stream.shutdown(Shutdown::Both)
}
