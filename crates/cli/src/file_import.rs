//! `bridle import --format spire|kubernetes FILE`: a broker's exported file, imported through the
//! same path as an estate file, its facts kept as the source's observations; and `bridle
//! observations SOURCE`, which prints them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use bridle_app::{Bridle, BrokerFileFormat, DataPaths, prepare_broker_file};
use bridle_protocol::ImportOutcome;

use crate::output::say;
use crate::{EXIT_BAD_INPUT, output, with_bridle, with_existing};

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
    let unknowns = prepared.unknowns.clone();
    let outcome = with_bridle(&paths.database, paths, async |b: &Bridle| {
        Ok(b.import_broker_file(prepared, at, &actor).await?)
    })
    .await?;
    output::import_outcome(&label, &outcome, json)?;
    // What the file cannot tell is said, never silently dropped.
    for unknown in &unknowns {
        eprintln!("{label}: not known: {}: {}", unknown.part, unknown.reason);
    }
    Ok(match outcome {
        ImportOutcome::Imported { .. } => ExitCode::SUCCESS,
        ImportOutcome::Rejected { .. } => ExitCode::from(EXIT_BAD_INPUT),
    })
}

pub async fn observations(
    paths: &DataPaths,
    source: &str,
    kind: Option<&str>,
    json: bool,
) -> Result<ExitCode> {
    let observations = with_existing(paths, async |b: &Bridle| {
        Ok(b.import_observations(source, kind).await?)
    })
    .await?;
    if json {
        say!("{}", serde_json::to_string_pretty(&observations)?);
    } else {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::NOTHING)
            .set_header(["KIND", "ID", "FACTS"]);
        for o in &observations {
            table.add_row(vec![o.kind.clone(), o.id.clone(), o.facts.to_string()]);
        }
        say!("{table}");
        say!("{} observations", observations.len());
    }
    Ok(ExitCode::SUCCESS)
}
