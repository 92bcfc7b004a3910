//! `cargo xtask fuzz --minutes N [--target NAME]`: the long fuzz runs of `crates/fuzz`.
//!
//! Builds the `bridle-fuzz` binary in release mode and runs it: each target (or the one named)
//! for N minutes, in batches of fresh seeds, printing per target the cases checked and every
//! failure with the seed that replays it (`cargo run --release -p bridle-fuzz -- --target NAME
//! --seed SEED`). `cargo test` runs a bounded number of cases of every target; this is for the
//! runs that are too long for that.

use anyhow::{Result, bail};

use super::cargo;

pub fn run(args: &[String]) -> Result<()> {
    let mut forwarded: Vec<&str> = Vec::new();
    let mut minutes = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--minutes" | "--target" | "--seed" | "--batch" => {
                let Some(value) = args.next() else {
                    bail!("{arg} needs a value");
                };
                minutes |= arg == "--minutes";
                forwarded.extend([arg.as_str(), value.as_str()]);
            }
            other => bail!(
                "unknown argument `{other}` (usage: cargo xtask fuzz --minutes N [--target NAME] [--seed S] [--batch CASES])"
            ),
        }
    }
    if !minutes {
        bail!("cargo xtask fuzz needs --minutes N (minutes per target)");
    }
    let mut command = vec!["run", "--release", "--package", "bridle-fuzz", "--"];
    command.extend(forwarded);
    cargo(&command)
}
