//! The desktop console, for real: the `bridle-desktop` binary in an Xvfb display, driven through
//! WebDriver (`tauri-driver` in front of Debian's `WebKitWebDriver`). One test walks what a user
//! does on a demo inventory and checks each page against the CLI's `--json` output; a second
//! opens a file that is not a Bridle database and expects the error screen.
//!
//! Every page visited is saved as a PNG under `<target>/e2e-screens/`.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long any one thing may take to appear (the first start compiles the wasm).
const PATIENCE: Duration = Duration::from_secs(40);

const KINDS: [&str; 6] = [
    "agents",
    "identities",
    "credentials",
    "resources",
    "tools",
    "grants",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the test crate lives in tests/desktop")
        .to_owned()
}

/// The binaries under test and where screenshots go.
struct Build {
    desktop: PathBuf,
    cli: PathBuf,
    screens: PathBuf,
}

/// Builds the UI (`cargo xtask ui`: ui/dist must exist before src-tauri compiles, since it is
/// embedded), then `bridle-desktop` and `bridle`, into the target directory of this test
/// executable. When `cargo xtask test` already built them, this only checks they are current.
fn build() -> &'static Build {
    static BUILD: OnceLock<Build> = OnceLock::new();
    BUILD.get_or_init(|| {
        let executable = std::env::current_exe().expect("the test executable has a path");
        // <target>/<profile>/deps/desktop-<hash>
        let profile_dir = executable
            .parent()
            .and_then(Path::parent)
            .expect("the test executable lives in <target>/<profile>/deps")
            .to_owned();
        let target_dir = profile_dir
            .parent()
            .expect("the profile directory lives in the target directory")
            .to_owned();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

        let ui = Command::new(&cargo)
            .current_dir(workspace_root())
            .args(["run", "--quiet", "-p", "xtask", "--", "ui"])
            .env("CARGO_TARGET_DIR", &target_dir)
            .status()
            .expect("cargo can be started");
        assert!(ui.success(), "building the UI (cargo xtask ui) failed");

        let mut binaries = Command::new(&cargo);
        binaries
            .current_dir(workspace_root())
            .args([
                "build",
                "--quiet",
                "-p",
                "bridle-desktop",
                "-p",
                "bridle-cli",
            ])
            .arg("--target-dir")
            .arg(&target_dir);
        if release {
            binaries.arg("--release");
        }
        let status = binaries.status().expect("cargo can be started");
        assert!(
            status.success(),
            "building bridle-desktop and bridle failed"
        );

        let screens = target_dir.join("e2e-screens");
        std::fs::create_dir_all(&screens).expect("the screenshot directory can be created");
        Build {
            desktop: profile_dir.join("bridle-desktop"),
            cli: profile_dir.join("bridle"),
            screens,
        }
    })
}

/// A private inventory: database, audit key and data directory (for the log) in a temp dir.
struct Inventory {
    _dir: tempfile::TempDir,
    db: PathBuf,
    audit_key: PathBuf,
    data_home: PathBuf,
}

impl Inventory {
    fn new() -> Inventory {
        let dir = tempfile::tempdir().expect("a temp dir");
        Inventory {
            db: dir.path().join("inventory.db"),
            audit_key: dir.path().join("audit.key"),
            data_home: dir.path().join("data"),
            _dir: dir,
        }
    }

    fn env(&self, command: &mut Command) {
        command
            .env("BRIDLE_AUDIT_KEY_FILE", &self.audit_key)
            .env("XDG_DATA_HOME", &self.data_home)
            .env_remove("BRIDLE_DB");
    }

    /// Runs `bridle --db DB ARGS…` and returns its standard output; fails the test on failure.
    fn cli(&self, args: &[&str]) -> String {
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

    fn list(&self, kind: &str) -> Vec<Value> {
        let out = self.cli(&["ls", kind, "--json"]);
        match serde_json::from_str(&out).expect("ls --json prints JSON") {
            Value::Array(rows) => rows,
            other => panic!("ls {kind} --json printed {other}"),
        }
    }

    fn counts(&self) -> BTreeMap<&'static str, u64> {
        KINDS
            .into_iter()
            .map(|kind| (kind, self.list(kind).len() as u64))
            .collect()
    }
}

/// A child process stopped with SIGTERM when dropped (SIGKILL would leave tauri-driver's
/// WebKitWebDriver holding its port).
struct Process {
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
fn start_xvfb() -> (Process, String) {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn tauri_driver() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    cargo_home
        .map(|home| home.join("bin/tauri-driver"))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// tauri-driver on a free port, in the given display, with the inventory's environment.
fn start_driver(display: &str, inventory: &Inventory) -> (Process, u16) {
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

async fn open_window(port: u16, db: &Path) -> Client {
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
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
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

async fn find(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no element `{css}`: {e}"))
}

async fn text(client: &Client, css: &str) -> String {
    find(client, css)
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("no text in `{css}`: {e}"))
}

async fn attribute(client: &Client, css: &str, name: &str) -> Option<String> {
    let element = client.find(Locator::Css(css)).await.ok()?;
    element.attr(name).await.ok().flatten()
}

fn number(text: &str) -> u64 {
    text.trim()
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("`{text}` is not a number"))
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(build().screens.join(name), png).expect("the screenshot can be saved");
}

async fn dashboard_counts(client: &Client) -> BTreeMap<&'static str, u64> {
    find(client, "#counts").await;
    let mut counts = BTreeMap::new();
    for kind in KINDS {
        let value = text(client, &format!("[data-count={kind}] .stat-value")).await;
        counts.insert(kind, number(&value));
    }
    counts
}

/// The table's `data-matched` once it differs from `not` (the table reloads asynchronously).
async fn matched_rows(client: &Client, not: Option<u64>) -> u64 {
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
async fn connection_counts(client: &Client) -> BTreeMap<String, u64> {
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
fn entity_href(id: &str) -> String {
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

fn fixture(relative: &str) -> String {
    workspace_root()
        .join("tests/fixtures")
        .join(relative)
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_filters_searches_and_imports() {
    let inventory = Inventory::new();
    inventory.cli(&["demo"]);
    let before = inventory.counts();
    let agents = inventory.list("agents");
    let grants = inventory.list("grants");

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    // The dashboard's figures are the CLI's.
    assert_eq!(dashboard_counts(&client).await, before, "dashboard counts");
    screenshot(&client, "01-dashboard.png").await;

    // The agents table lists every agent.
    find(&client, "[data-testid=nav-agents]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, "[data-kind=agents] #inventory-table").await;
    assert_eq!(matched_rows(&client, None).await, before["agents"]);
    screenshot(&client, "02-inventory-agents.png").await;

    // An agent's page (the one whose identity holds the most grants) shows its details.
    let held = |id: &str| grants.iter().filter(|g| g["subject"] == id).count();
    let agent = agents
        .iter()
        .filter(|a| a["runs_as"][0].is_string())
        .max_by_key(|a| held(a["runs_as"][0].as_str().unwrap()))
        .expect("demo agents run as identities");
    let agent_id = agent["id"].as_str().unwrap();
    find(
        &client,
        &format!(
            "#inventory-table td.id-cell a[href=\"{}\"]",
            entity_href(agent_id)
        ),
    )
    .await
    .click()
    .await
    .unwrap();
    let title = eventually("the entity page", || async {
        let title = client.find(Locator::Css("#entity-title")).await.ok()?;
        title.text().await.ok()
    })
    .await;
    assert_eq!(title, agent["name"].as_str().unwrap());
    assert_eq!(
        connection_counts(&client).await.get("Grants held").copied(),
        Some(held(agent_id) as u64),
        "grants held by {agent_id}"
    );
    screenshot(&client, "03-entity-agent.png").await;

    // Its identity (a link on the agent's page) lists the grants it holds.
    let identity = agent["runs_as"][0]
        .as_str()
        .expect("demo agents run as something");
    find(
        &client,
        &format!(".fields a[href=\"{}\"]", entity_href(identity)),
    )
    .await
    .click()
    .await
    .unwrap();
    find(
        &client,
        &format!("[data-entity-id=\"{identity}\"] #entity-title"),
    )
    .await;
    assert_eq!(
        connection_counts(&client).await.get("Grants held").copied(),
        Some(held(identity) as u64),
        "grants held by {identity}"
    );
    screenshot(&client, "04-entity-identity.png").await;

    // Filtering the grants table by a value and by text.
    find(&client, "[data-testid=nav-grants]")
        .await
        .click()
        .await
        .unwrap();
    find(&client, "[data-kind=grants] #inventory-table").await;
    assert_eq!(matched_rows(&client, None).await, before["grants"]);
    let standing = grants.iter().filter(|g| g["standing"] == true).count() as u64;
    assert!(standing > 0 && standing < before["grants"]);
    find(&client, "select[data-column=standing]")
        .await
        .select_by_value("yes")
        .await
        .unwrap();
    assert_eq!(
        matched_rows(&client, Some(before["grants"])).await,
        standing
    );
    let needle = "finance-recon";
    let expected = grants
        .iter()
        .filter(|g| g["standing"] == true)
        .filter(|g| {
            ["id", "subject", "target"]
                .iter()
                .any(|f| g[*f].as_str().unwrap_or_default().contains(needle))
        })
        .count() as u64;
    assert!(expected > 0, "the demo has standing grants naming {needle}");
    find(&client, "#table-search")
        .await
        .send_keys(needle)
        .await
        .unwrap();
    assert_eq!(matched_rows(&client, Some(standing)).await, expected);
    screenshot(&client, "05-grants-filtered.png").await;

    // Ctrl+K finds an agent by its id and opens it with the keyboard.
    let wanted = &agents[1];
    let chord = format!("{}k{}", char::from(Key::Control), char::from(Key::Null));
    find(&client, "#table-search")
        .await
        .send_keys(&chord)
        .await
        .unwrap();
    let search = find(&client, "#palette-input").await;
    search
        .send_keys(wanted["id"].as_str().unwrap())
        .await
        .unwrap();
    eventually("a search hit", || async {
        let selected = client
            .execute(
                "const hit = document.querySelector('.palette-results li.selected .hit-id');\
                 return hit ? hit.textContent : null;",
                Vec::new(),
            )
            .await
            .ok()?;
        (selected.as_str()? == wanted["id"].as_str()?).then_some(())
    })
    .await;
    screenshot(&client, "06-search.png").await;
    search
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    let title = eventually("the searched entity", || async {
        let title = client.find(Locator::Css("#entity-title")).await.ok()?;
        let title = title.text().await.ok()?;
        (title == wanted["name"].as_str().unwrap()).then_some(title)
    })
    .await;
    assert_eq!(title, wanted["name"].as_str().unwrap());

    // A malformed file is rejected with every error located, and nothing changes.
    find(&client, "[data-testid=nav-import]")
        .await
        .click()
        .await
        .unwrap();
    let path = find(&client, "#import-path").await;
    path.send_keys(&fixture("malformed/multi-error.json"))
        .await
        .unwrap();
    find(&client, "#import-button").await.click().await.unwrap();
    find(&client, "[data-outcome=rejected]").await;
    let mut locations = Vec::new();
    for element in client
        .find_all(Locator::Css("#diagnostics .diagnostic.error .location"))
        .await
        .unwrap()
    {
        locations.push(element.text().await.unwrap());
    }
    for expected in [
        "agents[0].environment",
        "credentials[0].identity",
        "tools[0].acts_on[0].resource",
        "grants[2].actions",
    ] {
        assert!(
            locations.iter().any(|l| l == expected),
            "`{expected}` should be listed among {locations:?}"
        );
    }
    screenshot(&client, "07-import-rejected.png").await;
    assert_eq!(
        inventory.counts(),
        before,
        "a rejected import changes nothing"
    );

    // A good file, as a second source, becomes a new snapshot and the counts change.
    path.clear().await.unwrap();
    path.send_keys(&fixture("estates/every-field.json"))
        .await
        .unwrap();
    find(&client, "#import-source")
        .await
        .send_keys("every-field")
        .await
        .unwrap();
    find(&client, "#import-button").await.click().await.unwrap();
    find(&client, "[data-outcome=imported]").await;
    screenshot(&client, "08-import-imported.png").await;
    let after = inventory.counts();
    assert!(
        after["agents"] > before["agents"],
        "{after:?} vs {before:?}"
    );

    find(&client, "[data-testid=nav-dashboard]")
        .await
        .click()
        .await
        .unwrap();
    let shown = eventually("the dashboard to show the new counts", || async {
        let counts = dashboard_counts(&client).await;
        (counts == after).then_some(counts)
    })
    .await;
    assert_ne!(shown, before);
    screenshot(&client, "09-dashboard-after-import.png").await;

    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_gets_an_error_screen() {
    let inventory = Inventory::new();
    std::fs::write(
        &inventory.db,
        "this is a text file, not a Bridle database\n".repeat(200),
    )
    .unwrap();
    let original = std::fs::read(&inventory.db).unwrap();

    let (_xvfb, display) = start_xvfb();
    let (_driver, port) = start_driver(&display, &inventory);
    let client = open_window(port, &inventory.db).await;

    let heading = text(&client, "#startup-error h1").await;
    assert_eq!(heading, "Bridle cannot open this inventory");
    let message = text(&client, "#startup-error .error-message").await;
    assert!(!message.is_empty());
    screenshot(&client, "10-startup-error.png").await;
    client.close().await.unwrap();

    assert_eq!(
        std::fs::read(&inventory.db).unwrap(),
        original,
        "an unusable database is left untouched"
    );
}
