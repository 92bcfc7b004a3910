//! What every desktop test needs: the built binaries, a private inventory, Xvfb, tauri-driver,
//! a WebDriver session with the console, and small helpers to wait, read and screenshot.
//! Test files include it with `#[path = "../support.rs"] mod support;` (or `mod support;` from
//! `desktop.rs`); not every file uses every helper.
#![allow(dead_code, unused_imports)]

pub use fantoccini::elements::Element;
pub use fantoccini::key::Key;
pub use fantoccini::{Client, ClientBuilder, Locator};
pub use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long any one thing may take to appear (the first start compiles the wasm).
pub const PATIENCE: Duration = Duration::from_secs(40);

pub const KINDS: [&str; 6] = [
    "agents",
    "identities",
    "credentials",
    "resources",
    "tools",
    "grants",
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the test crate lives in tests/desktop")
        .to_owned()
}

/// The binaries under test and where screenshots go.
pub struct Build {
    pub desktop: PathBuf,
    pub cli: PathBuf,
    pub screens: PathBuf,
}

/// Builds the UI (`xtask ui`: ui/dist must exist before src-tauri compiles, since it is
/// embedded), then `bridle-desktop` and `bridle`, into the target directory of this test
/// executable, selecting what `cargo test --workspace` selects (see [`bridle_e2e::TestBuild`]).
/// When `cargo xtask test` already built them, this only checks they are current.
pub fn build() -> &'static Build {
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| {
        let test_build = bridle_e2e::TestBuild::of_this_test();
        let [xtask] = <[PathBuf; 1]>::try_from(test_build.binaries(&["xtask"]))
            .expect("one binary was asked for");
        let ui = Command::new(&xtask)
            .arg("ui")
            .env("CARGO_TARGET_DIR", &test_build.target_dir)
            .status()
            .expect("xtask can be started");
        assert!(ui.success(), "building the UI (xtask ui) failed");

        let [desktop, cli] =
            <[PathBuf; 2]>::try_from(test_build.binaries(&["bridle-desktop", "bridle"]))
                .expect("two binaries were asked for");
        let screens = test_build.target_dir.join("e2e-screens");
        std::fs::create_dir_all(&screens).expect("the screenshot directory can be created");
        Build {
            desktop,
            cli,
            screens,
        }
    })
}

/// A private inventory: database, audit key and data directory (for the log) in a temp dir.
pub struct Inventory {
    _dir: tempfile::TempDir,
    pub db: PathBuf,
    pub audit_key: PathBuf,
    pub data_home: PathBuf,
}

impl Inventory {
    pub fn new() -> Inventory {
        let dir = tempfile::tempdir().expect("a temp dir");
        Inventory {
            db: dir.path().join("inventory.db"),
            audit_key: dir.path().join("audit.key"),
            data_home: dir.path().join("data"),
            _dir: dir,
        }
    }

    pub fn env(&self, command: &mut Command) {
        command
            .env("BRIDLE_AUDIT_KEY_FILE", &self.audit_key)
            .env("XDG_DATA_HOME", &self.data_home)
            .env("XDG_CONFIG_HOME", self.data_home.join("config"))
            // A path typed into the console is confirmed in a native dialog, which WebDriver
            // cannot click: debug builds take this answer instead.
            .env("BRIDLE_TEST_DIALOG_ANSWER", "yes")
            .env_remove("BRIDLE_DB");
    }

    /// Runs `bridle --db DB ARGS…` and returns its standard output; fails the test on failure.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new(&build().cli);
        command.arg("--db").arg(&self.db).args(args);
        self.env(&mut command);
        let out = command.output().expect("bridle can be started");
        assert!(
            out.status.success(),
            "bridle {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("bridle prints UTF-8")
    }

    pub fn list(&self, kind: &str) -> Vec<Value> {
        let out = self.cli(&["ls", kind, "--json"]);
        match serde_json::from_str(&out).expect("ls --json prints JSON") {
            Value::Array(rows) => rows,
            other => panic!("ls {kind} --json printed {other}"),
        }
    }

    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        KINDS
            .into_iter()
            .map(|kind| (kind, self.list(kind).len() as u64))
            .collect()
    }
}

/// A child process stopped with SIGTERM when dropped (SIGKILL would leave tauri-driver's
/// WebKitWebDriver holding its port).
pub struct Process {
    name: &'static str,
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An X display of 1280×800 (the size the console is designed for).
pub fn start_xvfb() -> (Process, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb can be started (Debian package xvfb; `cargo xtask test` installs it)");
    let stdout = child.stdout.take().expect("piped stdout");
    let process = Process {
        name: "Xvfb",
        child,
    };
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("Xvfb prints its display number");
    let display = format!(":{}", line.trim());
    assert!(line.trim().parse::<u32>().is_ok(), "Xvfb printed {line:?}");
    (process, display)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub fn tauri_driver() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    cargo_home
        .map(|home| home.join("bin/tauri-driver"))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// tauri-driver on a free port, in the given display, with the inventory's environment.
pub fn start_driver(display: &str, inventory: &Inventory) -> (Process, u16) {
    let port = free_port();
    let native_port = free_port();
    let mut command = Command::new(tauri_driver());
    command
        .args(["--port", &port.to_string()])
        .args(["--native-port", &native_port.to_string()])
        .env("DISPLAY", display)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    inventory.env(&mut command);
    let child = command
        .spawn()
        .expect("tauri-driver can be started (`cargo xtask test` installs it)");
    let process = Process {
        name: "tauri-driver",
        child,
    };
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tauri-driver never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
    (process, port)
}

pub async fn open_window(port: u16, db: &Path) -> Client {
    let capabilities = json!({
        "browserName": "wry",
        "tauri:options": {
            "application": build().desktop,
            "args": ["--db", db],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with the console")
}

/// Polls `check` until it returns `Some`, failing the test with `what` after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for an element. fantoccini's own wait gives up on a stale element (the console
/// re-rendered the node between finding and using it, e.g. right after a reload), so every error
/// is retried until [`PATIENCE`] runs out.
pub async fn find(client: &Client, css: &str) -> Element {
    eventually(&format!("element `{css}`"), || async {
        client.find(Locator::Css(css)).await.ok()
    })
    .await
}

pub async fn click(client: &Client, css: &str) {
    find(client, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
}

/// Replaces the text of an input.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    let element = find(client, css).await;
    element.clear().await.unwrap();
    element
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
}

/// Picks an option of a `<select>` by its value.
pub async fn choose(client: &Client, css: &str, value: &str) {
    find(client, css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot choose `{value}` in `{css}`: {e}"));
}

/// Scrolls the page so that the element is in view (screenshots show the viewport only).
pub async fn scroll_to(client: &Client, css: &str) {
    let element = find(client, css).await;
    client
        .execute(
            "arguments[0].scrollIntoView({ block: 'start' });",
            vec![serde_json::to_value(&element).unwrap()],
        )
        .await
        .unwrap();
}

pub async fn text(client: &Client, css: &str) -> String {
    find(client, css)
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("no text in `{css}`: {e}"))
}

pub async fn attribute(client: &Client, css: &str, name: &str) -> Option<String> {
    let element = client.find(Locator::Css(css)).await.ok()?;
    element.attr(name).await.ok().flatten()
}

pub fn number(text: &str) -> u64 {
    text.trim()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a number"))
}

pub async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(build().screens.join(name), png).expect("the screenshot can be saved");
}

pub async fn dashboard_counts(client: &Client) -> BTreeMap<&'static str, u64> {
    find(client, "#counts").await;
    let mut counts = BTreeMap::new();
    for kind in KINDS {
        let value = text(client, &format!("[data-count={kind}] .stat-value")).await;
        counts.insert(kind, number(&value));
    }
    counts
}

/// The table's `data-matched` once it differs from `not` (the table reloads asynchronously).
pub async fn matched_rows(client: &Client, not: Option<u64>) -> u64 {
    eventually("the table to update", || async {
        let matched = attribute(client, "#table-summary", "data-matched")
            .await?
            .parse::<u64>()
            .ok()?;
        (Some(matched) != not).then_some(matched)
    })
    .await
}

/// Each connection section's count on an entity page, by its heading.
pub async fn connection_counts(client: &Client) -> BTreeMap<String, u64> {
    let mut sections = BTreeMap::new();
    for section in client.find_all(Locator::Css(".connection")).await.unwrap() {
        let title = section.find(Locator::Css("h2 .title")).await.unwrap();
        let count = section.find(Locator::Css("h2 .count")).await.unwrap();
        sections.insert(
            title.text().await.unwrap(),
            number(&count.text().await.unwrap()),
        );
    }
    sections
}

/// The console's URL fragment for an entity (ids are percent-encoded but for unreserved
/// characters and `:`).
pub fn entity_href(id: &str) -> String {
    let mut href = String::from("#/entity/");
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~:".contains(&byte) {
            href.push(byte as char);
        } else {
            href.push_str(&format!("%{byte:02X}"));
        }
    }
    href
}

pub fn fixture(relative: &str) -> String {
    workspace_root()
        .join("tests/fixtures")
        .join(relative)
        .display()
        .to_string()
}
