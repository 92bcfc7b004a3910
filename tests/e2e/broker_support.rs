//! A real OpenBao dev server per test (the pinned `bao` binary, a free loopback port, a random
//! root token), configured through its own CLI over the real API, and a small fault-injecting
//! HTTP proxy of our own that sits in front of it (pass, truncate, corrupt, hang, or stop the
//! real server mid-sync).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::workspace_root;

/// `<target>/test-servers/venv/bin/bao`, installed by `cargo xtask test-servers`.
pub fn bao_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bao = target.join("test-servers/venv/bin/bao");
    assert!(
        bao.is_file(),
        "{} is missing: run `cargo xtask test-servers` to install the pinned test servers (OpenBao)",
        bao.display()
    );
    bao
}

/// A fresh random-looking value (tokens, secret values) for one test run.
pub fn random_value(label: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_nanos();
    let seed = format!(
        "{label}:{nanos}:{}:{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    format!("{label}-{}", &hex::encode(Sha256::digest(seed))[..32])
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port is free")
        .port()
}

/// A running `bao server -dev`; killed when dropped.
pub struct Bao {
    child: Arc<Mutex<Option<Child>>>,
    pub port: u16,
    pub root_token: String,
    log: PathBuf,
}

impl Bao {
    pub fn start(dir: &Path) -> Bao {
        let port = free_port();
        let root_token = random_value("root");
        let log = dir.join(format!("bao-{port}.log"));
        let child = Command::new(bao_binary())
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={root_token}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-no-store-token",
            ])
            .env_remove("BAO_ADDR")
            .env_remove("VAULT_ADDR")
            .env("HOME", dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("the log can be created"))
            .stderr(Stdio::null())
            .spawn()
            .expect("bao can be started");
        let bao = Bao {
            child: Arc::new(Mutex::new(Some(child))),
            port,
            root_token,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if bao.cli(&["status", "-format=json"]).0 == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "bao did not come up on port {port}: {}",
                std::fs::read_to_string(&bao.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        bao
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The dev server's unseal key, from its start-up banner (written shortly after it listens).
    pub fn unseal_key(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(key) = log
                .lines()
                .find_map(|l| l.trim().strip_prefix("Unseal Key: "))
            {
                return key.trim().to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no unseal key in the bao log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A handle the proxy can use to stop the server mid-sync.
    pub fn killer(&self) -> Arc<Mutex<Option<Child>>> {
        Arc::clone(&self.child)
    }

    /// Runs `bao ARGS` against this server as root: (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        self.cli_with_input(args, None)
    }

    pub fn cli_with_input(&self, args: &[&str], input: Option<&str>) -> (i32, String, String) {
        let mut child = Command::new(bao_binary())
            .args(args)
            .env("BAO_ADDR", self.address())
            .env("BAO_TOKEN", &self.root_token)
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bao can be started");
        if let Some(text) = input {
            child
                .stdin
                .take()
                .expect("stdin is piped")
                .write_all(text.as_bytes())
                .expect("bao reads its input");
        }
        let output = child.wait_with_output().expect("bao finishes");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `bao ARGS`, asserting success; returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let (code, stdout, stderr) = self.cli(args);
        assert_eq!(code, 0, "bao {args:?} failed:\n{stdout}\n{stderr}");
        stdout
    }

    /// `bao write PATH -` with a JSON body on stdin.
    pub fn write_json(&self, path: &str, body: &Value) {
        let (code, stdout, stderr) =
            self.cli_with_input(&["write", path, "-"], Some(&body.to_string()));
        assert_eq!(code, 0, "bao write {path} failed:\n{stdout}\n{stderr}");
    }

    /// `bao policy write NAME -`.
    pub fn policy(&self, name: &str, hcl: &str) {
        let (code, stdout, stderr) =
            self.cli_with_input(&["policy", "write", name, "-"], Some(hcl));
        assert_eq!(
            code, 0,
            "bao policy write {name} failed:\n{stdout}\n{stderr}"
        );
    }

    /// Creates a token with `args` (e.g. `-policy=x`, `-orphan`) and returns (token, accessor).
    pub fn token(&self, args: &[&str]) -> (String, String) {
        let mut full = vec!["token", "create", "-format=json"];
        full.extend_from_slice(args);
        let out: Value = serde_json::from_str(&self.run(&full)).expect("token create prints JSON");
        (
            out["auth"]["client_token"]
                .as_str()
                .expect("a client token")
                .to_owned(),
            out["auth"]["accessor"]
                .as_str()
                .expect("an accessor")
                .to_owned(),
        )
    }

    /// Stops the server now.
    pub fn stop(&self) {
        kill(&self.child);
    }
}

fn kill(child: &Mutex<Option<Child>>) {
    if let Some(mut child) = child.lock().expect("the lock is not poisoned").take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Bao {
    fn drop(&mut self) {
        kill(&self.child);
    }
}

/// What the proxy does to the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward as is.
    Pass,
    /// Send the first half of each answer, then close.
    Truncate,
    /// Keep the status line and headers, garble the body (same length).
    Corrupt,
    /// Read the request and never answer.
    Hang,
    /// Forward this many requests, then stop the real server and forward the next one (which
    /// then fails).
    StopServerAfter(usize),
}

/// A fault-injecting HTTP/1.1 proxy on a free loopback port. Each request is forwarded on its
/// own upstream connection with `Connection: close`, so answers can be read whole and faulted.
pub struct Proxy {
    pub port: u16,
    fault: Arc<Mutex<Fault>>,
    stopping: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: u16, server: Arc<Mutex<Option<Child>>>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("the proxy can listen");
        let port = listener.local_addr().expect("a local address").port();
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let stopping = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicUsize::new(0));
        {
            let fault = Arc::clone(&fault);
            let stopping = Arc::clone(&stopping);
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(client) = client else { continue };
                    let fault = Arc::clone(&fault);
                    let stopping = Arc::clone(&stopping);
                    let forwarded = Arc::clone(&forwarded);
                    let server = Arc::clone(&server);
                    std::thread::spawn(move || {
                        let _ = serve(client, upstream, &fault, &stopping, &forwarded, &server);
                    });
                }
            });
        }
        Proxy {
            port,
            fault,
            stopping,
        }
    }

    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().expect("the lock is not poisoned") = fault;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request (head and body) from the client; `None` at end of stream.
fn read_request(
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<Option<(Vec<String>, Vec<u8>)>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

fn serve(
    client: TcpStream,
    upstream: u16,
    fault: &Mutex<Fault>,
    stopping: &AtomicBool,
    forwarded: &AtomicUsize,
    server: &Mutex<Option<Child>>,
) -> std::io::Result<()> {
    let mut writer = client.try_clone()?;
    let mut reader = BufReader::new(client);
    // One request per connection: every answer is sent with `Connection: close`.
    if let Some((head, body)) = read_request(&mut reader)? {
        let mode = *fault.lock().expect("the lock is not poisoned");
        if mode == Fault::Hang {
            // Hold the connection open without answering until the client gives up (its
            // timeout) or the test ends; bounded so a broken test cannot hang forever.
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut probe = [0u8; 1];
            reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_millis(100)))?;
            while Instant::now() < deadline && !stopping.load(Ordering::Relaxed) {
                match reader.get_mut().peek(&mut probe) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return Ok(()),
                }
            }
            return Ok(());
        }
        if let Fault::StopServerAfter(n) = mode
            && forwarded.load(Ordering::Relaxed) >= n
        {
            kill(server);
        }
        let mut upstream_conn = match TcpStream::connect(("127.0.0.1", upstream)) {
            Ok(conn) => conn,
            Err(_) => {
                // The server is gone: the client's connection breaks off without an answer.
                let _ = writer.shutdown(Shutdown::Both);
                return Ok(());
            }
        };
        let mut request = Vec::new();
        for line in head
            .iter()
            .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
        {
            request.extend_from_slice(line.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"Connection: close\r\n\r\n");
        request.extend_from_slice(&body);
        upstream_conn.write_all(&request)?;
        let mut answer = Vec::new();
        upstream_conn.read_to_end(&mut answer)?;
        forwarded.fetch_add(1, Ordering::Relaxed);
        match mode {
            Fault::Truncate => {
                writer.write_all(&answer[..answer.len() / 2])?;
                writer.shutdown(Shutdown::Both)?;
                return Ok(());
            }
            Fault::Corrupt => {
                let split = answer
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(0, |p| p + 4);
                for byte in &mut answer[split..] {
                    if matches!(*byte, b'{' | b'}' | b'"' | b':' | b'[' | b']') {
                        *byte = b'#';
                    }
                }
                writer.write_all(&answer)?;
            }
            _ => writer.write_all(&answer)?,
        }
        writer.flush()?;
        let _ = writer.shutdown(Shutdown::Both);
    }
    Ok(())
}
