//! `cargo xtask`: the project's own automation, so that a fresh Debian 12 machine needs exactly
//! two commands (see README): `cargo xtask run` and `cargo xtask test`.
//!
//! `test` installs what is missing (Debian packages as root; for anyone else it prints the exact
//! apt line), then runs the formatting check, clippy with warnings as errors, and every test.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Debian packages the build and the tests need.
const SYSTEM_PACKAGES: &[&str] = &["build-essential", "pkg-config", "ca-certificates"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("run") => run(&args[1..]),
        Some("install-deps") => install_system_packages(),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  run [ARGS]     load the demo estate and show it (extra ARGS go to `bridle demo`)\n  test           install what is missing, then fmt check, clippy -D warnings, all tests\n  install-deps   install the Debian packages the build needs"
            );
            bail!("unknown or missing command")
        }
    }
}

/// Runs a command in the workspace root, failing with its command line when it fails.
fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
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
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--no-fail-fast"])?;
    eprintln!("xtask test: all checks passed");
    Ok(())
}

fn run(extra: &[String]) -> Result<()> {
    install_system_packages()?;
    let mut args = vec!["run", "--quiet", "--package", "bridle-cli", "--", "demo"];
    args.extend(extra.iter().map(String::as_str));
    cargo(&args)
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
