//! Bridle's end-to-end tests live in `e2e/` (one test binary, a module per area); the desktop
//! console's live in `desktop/`. Cargo needs a library target to accept a package made of tests
//! only; this is it, and it holds the one thing both harnesses share: building the binaries under
//! test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the running test executable's build lives.
#[derive(Debug, Clone)]
pub struct TestBuild {
    /// `<target>/<profile>`: where cargo put the test executable, and where the binaries go.
    pub profile_dir: PathBuf,
    /// `<target>`: passed as `--target-dir` so nothing is built a second time elsewhere.
    pub target_dir: PathBuf,
    /// Whether the tests run from a release build (`cargo test --release`).
    pub release: bool,
}

impl TestBuild {
    /// The build the running test executable (`<target>/<profile>/deps/<name>-<hash>`) is part of.
    pub fn of_this_test() -> TestBuild {
        let executable = std::env::current_exe().expect("the test executable has a path");
        let profile_dir = executable
            .parent()
            .and_then(Path::parent)
            .expect("the test executable lives in <target>/<profile>/deps")
            .to_owned();
        let target_dir = profile_dir
            .parent()
            .expect("the profile directory lives in the target directory")
            .to_owned();
        let release = profile_dir
            .file_name()
            .is_some_and(|name| name == "release");
        TestBuild {
            profile_dir,
            target_dir,
            release,
        }
    }

    /// Builds `binaries` (bin target names) of the workspace into this build's target directory
    /// and returns their paths.
    ///
    /// A binary of another package is not built for a test of this package (artifact dependencies
    /// are not stable), so the harness asks cargo itself. It selects packages and targets the way
    /// `cargo test --workspace --exclude bridle-ui` (what `cargo xtask test` runs) does — the whole
    /// workspace, with examples, which brings in dev-dependencies — because cargo resolves
    /// features per invocation: a narrower `cargo build -p bridle-cli` unifies different
    /// features (syn's `fold`, bitflags' `std`, …) and compiles a second copy of most
    /// dependencies, the whole Tauri stack included. That copy once filled a CI machine's disk.
    /// With the same selection, everything the test run compiled is reused.
    pub fn binaries(&self, binaries: &[&str]) -> Vec<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace_root())
            .args(["build", "--quiet", "--workspace", "--exclude", "bridle-ui"])
            .arg("--examples")
            .arg("--target-dir")
            .arg(&self.target_dir);
        for binary in binaries {
            build.args(["--bin", binary]);
        }
        if self.release {
            build.arg("--release");
        }
        let status = build.status().expect("cargo can be started");
        assert!(
            status.success(),
            "building {} failed ({status})",
            binaries.join(", ")
        );
        binaries
            .iter()
            .map(|binary| {
                let path = self
                    .profile_dir
                    .join(format!("{binary}{}", std::env::consts::EXE_SUFFIX));
                assert!(path.is_file(), "no {binary} binary at {}", path.display());
                path
            })
            .collect()
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test crate lives inside the workspace")
        .to_owned()
}
