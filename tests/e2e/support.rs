//! What every end-to-end test shares: the real `bridle` binary, a private temporary directory per
//! test (database, data directory and home inside it), and small readers for files and JSON.
//!
//! Each test builds a [`Sandbox`]; nothing a test does can reach another test's files or the
//! user's real data directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test crate lives inside the workspace")
        .to_owned()
}

/// A file under `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(relative)
}

/// The demo estate shipped in `assets/demo/`.
pub fn demo_estate() -> PathBuf {
    workspace_root().join("assets/demo/estate.json")
}

/// The `bridle` binary, built once per test run by the same cargo that runs the tests, into the
/// target directory the test executable itself lives in (see [`bridle_e2e::TestBuild`]).
pub fn bridle_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let mut binaries = bridle_e2e::TestBuild::of_this_test().binaries(&["bridle"]);
        binaries.pop().expect("one binary was asked for")
    })
}

/// One finished `bridle` run.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`-1` when the process was killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The arguments, for failure messages.
    pub args: Vec<String>,
}

impl Run {
    /// Asserts the exit code, showing the whole run when it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "bridle {:?} exited with {} instead of {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts success (exit code 0).
    pub fn ok(&self) -> &Run {
        self.expect_code(0)
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "bridle {:?} did not print JSON ({e}):\n{}",
                self.args, self.stdout
            )
        })
    }
}

/// A private directory for one test: `x.db` is its database, `xdg/` its XDG_DATA_HOME (so the
/// data directory is `xdg/bridle/`), `home/` its HOME.
#[derive(Debug)]
pub struct Sandbox {
    dir: tempfile::TempDir,
    /// The time every later run records as "now" (`BRIDLE_TEST_CLOCK`, honoured by debug
    /// builds); `None`: the wall clock.
    clock: std::sync::Mutex<Option<String>>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("bridle-e2e-")
            .tempdir()
            .expect("a temporary directory can be created");
        std::fs::create_dir_all(dir.path().join("home")).expect("home can be created");
        Sandbox {
            dir,
            clock: std::sync::Mutex::new(None),
        }
    }

    /// Every later run takes `time` (RFC 3339) as the current time: an inventory, risks and
    /// attestations recorded before the fixed evaluation time a test checks packs at.
    pub fn set_clock(&self, time: &str) {
        *self.clock.lock().expect("the clock lock is not poisoned") = Some(time.to_owned());
    }

    /// A path inside the sandbox.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The database every [`Sandbox::bridle`] run uses.
    pub fn db(&self) -> PathBuf {
        self.path("x.db")
    }

    /// `$XDG_DATA_HOME/bridle`: the data directory Bridle resolves in this sandbox.
    pub fn data_dir(&self) -> PathBuf {
        self.path("xdg").join("bridle")
    }

    /// The default audit key file.
    pub fn audit_key(&self) -> PathBuf {
        self.data_dir().join("audit.key")
    }

    /// Writes `contents` to `name` in the sandbox and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("a sandbox file can be written");
        path
    }

    /// A credential file in the sandbox: readable by its owner only, as Bridle requires.
    pub fn write_secret(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        write_secret(&path, contents);
        path
    }

    /// Runs `bridle --db <sandbox>/x.db ARGS`.
    pub fn bridle<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Run {
        let mut full: Vec<std::ffi::OsString> = vec!["--db".into(), self.db().into()];
        full.extend(args.iter().map(|a| a.as_ref().to_owned()));
        self.bridle_with(&full, &[])
    }

    /// Runs `bridle ARGS` with no `--db` and extra environment variables `env`.
    pub fn bridle_with<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], env: &[(&str, &Path)]) -> Run {
        let mut command = self.command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().expect("bridle can be started");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
            args: args
                .iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect(),
        }
    }

    /// The `bridle ARGS` command of this sandbox (its directories and clock), not started: for
    /// a test that needs the process itself (to signal it).
    pub fn command<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Command {
        let mut command = Command::new(bridle_binary());
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("XDG_DATA_HOME", self.path("xdg"))
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env_remove("BRIDLE_DB")
            .env_remove("BRIDLE_AUDIT_KEY_FILE")
            .env_remove("BRIDLE_LOG")
            .env_remove("BRIDLE_TEST_CLOCK")
            .stdin(Stdio::null());
        if let Some(clock) = self
            .clock
            .lock()
            .expect("the clock lock is not poisoned")
            .as_deref()
        {
            command.env("BRIDLE_TEST_CLOCK", clock);
        }
        command
    }

    /// `bridle import FILE --json` (plus `extra` arguments), asserting success; returns the
    /// snapshot it reports.
    pub fn import(&self, file: &Path, extra: &[&str]) -> Value {
        let mut args: Vec<std::ffi::OsString> = vec!["import".into(), file.into(), "--json".into()];
        args.extend(extra.iter().map(Into::into));
        let run = self.bridle(&args);
        run.ok();
        let outcome = run.json();
        assert_eq!(outcome["outcome"], "imported", "{outcome}");
        outcome["snapshot"].clone()
    }

    /// `bridle ls KIND --json`.
    pub fn list(&self, kind: &str) -> Vec<Value> {
        let run = self.bridle(&["ls", kind, "--json"]);
        run.ok();
        match run.json() {
            Value::Array(rows) => rows,
            other => panic!("ls {kind} --json printed {other} instead of an array"),
        }
    }

    /// `bridle export --format estate` (of `snapshot` when given) as bytes, through `-o`.
    pub fn export(&self, name: &str, snapshot: Option<i64>) -> Vec<u8> {
        let out = self.path(name);
        let mut args: Vec<std::ffi::OsString> = vec![
            "export".into(),
            "--format".into(),
            "estate".into(),
            "-o".into(),
            out.clone().into(),
        ];
        if let Some(id) = snapshot {
            args.extend(["--snapshot".into(), id.to_string().into()]);
        }
        self.bridle(&args).ok();
        std::fs::read(&out).expect("the export was written")
    }
}

/// The lower-case hex sha256 of a file, or `None` when it does not exist.
pub fn sha256_file(path: &Path) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => Some(hex::encode(Sha256::digest(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    }
}

/// `path` with `suffix` appended to its file name (`x.db` → `x.db-wal`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The estate/v1 derived id of a grant written without one: `g:` + the first 16 hex digits of
/// sha256(subject \n target \n sorted actions joined by ","), computed here independently of the
/// implementation.
pub fn derived_grant_id(subject: &str, target: &str, actions: &[&str]) -> String {
    let mut sorted = actions.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let digest = Sha256::digest(format!("{subject}\n{target}\n{}", sorted.join(",")));
    format!("g:{}", &hex::encode(digest)[..16])
}

/// Reads a JSON file as a JSON value.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The six entity lists of an estate, in document order.
pub const KINDS: [&str; 6] = [
    "agents",
    "identities",
    "credentials",
    "resources",
    "tools",
    "grants",
];

/// An estate document as the canonical export must state it: grant ids filled in (derived when
/// absent), action lists sorted, every list sorted by id. Values are otherwise untouched.
pub fn normalised_estate(estate: &Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("bridle".into(), estate["bridle"].clone());
    for kind in KINDS {
        let mut entities: Vec<Value> = estate[kind]
            .as_array()
            .unwrap_or_else(|| panic!("the estate has no `{kind}` array"))
            .iter()
            .map(|e| normalised_entity(kind, e))
            .collect();
        entities.sort_by(|a, b| {
            a["id"]
                .as_str()
                .unwrap_or_default()
                .cmp(b["id"].as_str().unwrap_or_default())
        });
        out.insert(kind.into(), Value::Array(entities));
    }
    Value::Object(out)
}

fn sorted_actions(actions: &Value) -> Value {
    let mut words: Vec<&str> = actions
        .as_array()
        .expect("actions is an array")
        .iter()
        .map(|a| a.as_str().expect("an action is a string"))
        .collect();
    words.sort_unstable();
    words.dedup();
    Value::from(words)
}

/// One entity as the export and `ls --json` must carry it (see [`normalised_estate`]).
pub fn normalised_entity(kind: &str, entity: &Value) -> Value {
    let mut entity = entity.clone();
    match kind {
        "grants" => {
            entity["actions"] = sorted_actions(&entity["actions"]);
            if entity.get("id").is_none_or(Value::is_null) {
                let actions: Vec<&str> = entity["actions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let id = derived_grant_id(
                    entity["subject"].as_str().expect("a grant has a subject"),
                    entity["target"].as_str().expect("a grant has a target"),
                    &actions,
                );
                entity["id"] = Value::from(id);
            }
        }
        "tools" => {
            if let Some(entries) = entity["acts_on"].as_array_mut() {
                for entry in entries {
                    entry["actions"] = sorted_actions(&entry["actions"]);
                }
            }
        }
        _ => {}
    }
    entity
}

/// The array `key` of a JSON object.
pub fn array<'a>(value: &'a Value, key: &str) -> &'a Vec<Value> {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("`{key}` is not an array in {value}"))
}

/// Writes a credential file readable by its owner only (Bridle refuses any other).
pub fn write_secret(path: &Path, contents: impl AsRef<[u8]>) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("a credential file can be written");
    file.write_all(contents.as_ref())
        .expect("a credential file can be written");
}
