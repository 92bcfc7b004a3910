//! `bridle import --format spire|kubernetes FILE`: a broker's exported file, imported through the
//! same path as an estate file.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use bridle_app::{Bridle, BrokerFileFormat, DataPaths, prepare_broker_file};
use bridle_protocol::ImportOutcome;

use crate::{EXIT_BAD_INPUT, output, with_bridle};

pub async fn import(
    paths: &DataPaths,
    format: BrokerFileFormat,
    file: &Path,
    name: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let label = file.display().to_string();
    // The file is read and mapped before the database is opened: a bad file touches nothing.
    let prepared = match prepare_broker_file(format, file, name)? {
        Ok(prepared) => prepared,
        Err(rejected) => {
            output::import_outcome(&label, &rejected, json)?;
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let at = bridle_app::now();
    let actor = bridle_app::current_actor();
    let source = prepared.source.clone();
    let outcome = with_bridle(&paths.database, &paths.audit_key, async |b: &Bridle| {
        Ok(b.import(prepared.prepared, &source, at, &actor).await?)
    })
    .await?;
    output::import_outcome(&label, &outcome, json)?;
    // What the file cannot tell is said, never silently dropped.
    for unknown in &prepared.unknowns {
        eprintln!("{label}: not known: {}: {}", unknown.part, unknown.reason);
    }
    Ok(match outcome {
        ImportOutcome::Imported { .. } => ExitCode::SUCCESS,
        ImportOutcome::Rejected { .. } => ExitCode::from(EXIT_BAD_INPUT),
    })
}
