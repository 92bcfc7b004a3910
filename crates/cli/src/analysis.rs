//! Adapters for `bridle gen` and `bridle export --format opengraph`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use bridle_app::Bridle;
use bridle_app::DataPaths;
use bridle_core::synthetic::Scale;
use clap::ValueEnum;

use super::{evaluation_time, with_existing, write_atomically};

/// `--scale` of `bridle gen`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScaleArg {
    /// 40 agents, 1,000 identities, 500 resources, 60 tools, 10,000 grants.
    Small,
    /// 400 agents, 10,000 identities, 5,000 resources, 600 tools, 100,000 grants.
    Medium,
    /// 2,000 agents, 100,000 identities, 50,000 resources, 5,000 tools, 1,000,000 grants.
    Large,
}

impl ScaleArg {
    fn scale(self) -> Scale {
        match self {
            ScaleArg::Small => Scale::Small,
            ScaleArg::Medium => Scale::Medium,
            ScaleArg::Large => Scale::Large,
        }
    }
}

/// `bridle gen`: a synthetic estate to stdout or to `output`; no database involved.
pub async fn generate(scale: ScaleArg, seed: u64, output: Option<&Path>) -> Result<ExitCode> {
    let scale = scale.scale();
    match output {
        Some(path) => {
            write_atomically(path, async |file: std::fs::File| {
                Ok(bridle_app::generate::write_synthetic_estate(
                    scale, seed, file,
                )?)
            })
            .await?
        }
        None => {
            bridle_app::generate::write_synthetic_estate(scale, seed, std::io::stdout().lock())?
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bridle export --format opengraph`: the privilege graph at `--at` for BloodHound CE.
pub async fn export_opengraph(
    paths: &DataPaths,
    output: Option<PathBuf>,
    snapshot: Option<i64>,
    at: Option<&str>,
) -> Result<ExitCode> {
    let at = evaluation_time(at)?;
    match output {
        Some(path) => {
            write_atomically(&path, async |file: std::fs::File| {
                with_existing(paths, async |b: &Bridle| {
                    Ok(b.write_opengraph(snapshot, at, file).await?)
                })
                .await
                .map(|_| ())
            })
            .await?;
        }
        None => {
            with_existing(paths, async |b: &Bridle| {
                Ok(b.write_opengraph(snapshot, at, std::io::stdout().lock())
                    .await?)
            })
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
