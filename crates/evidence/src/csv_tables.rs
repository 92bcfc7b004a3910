//! The evidence as CSV tables (RFC 4180 through the `csv` crate): findings, risks, inventory.

use std::io::Write;

use crate::report::EvidenceReport;

fn finish<W: Write>(mut writer: csv::Writer<W>) -> std::io::Result<()> {
    writer.flush()
}

fn io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}

/// One row per finding; evidence lines joined with ` | `.
pub fn findings<W: Write>(report: &EvidenceReport, out: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "check",
        "title",
        "subject",
        "status",
        "severity",
        "summary",
        "evidence",
        "controls",
        "accepted_by_risk",
        "snapshot",
        "evaluated_at",
    ])
    .map_err(io)?;
    for f in &report.findings {
        w.write_record([
            f.id.as_str(),
            &f.check,
            &f.title,
            &f.subject,
            &f.status,
            &f.severity,
            &f.summary,
            &f.evidence.join(" | "),
            &f.controls.join(" "),
            &f.accepted_by.map(|r| r.to_string()).unwrap_or_default(),
            &report.snapshot.id.to_string(),
            &report.at,
        ])
        .map_err(io)?;
    }
    finish(w)
}

/// One row per risk of the register, status as at the evaluation time.
pub fn risks<W: Write>(report: &EvidenceReport, out: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "title",
        "description",
        "status",
        "treatment",
        "owner",
        "likelihood",
        "impact",
        "inherent_score",
        "residual_score",
        "level",
        "due",
        "categories",
        "findings",
        "controls",
    ])
    .map_err(io)?;
    for r in &report.risks {
        w.write_record([
            r.id.to_string().as_str(),
            &r.title,
            &r.description,
            &r.status,
            &r.treatment,
            r.owner.as_deref().unwrap_or(""),
            &r.likelihood.to_string(),
            &r.impact.to_string(),
            &r.inherent_score.to_string(),
            &r.residual_score.to_string(),
            &r.level,
            r.due.as_deref().unwrap_or(""),
            &r.categories.join(" "),
            &r.findings.join(" "),
            &r.controls.join(" "),
        ])
        .map_err(io)?;
    }
    finish(w)
}

/// One row per entity: its kind, id, name and the other columns of its inventory table as
/// `Column=value` pairs joined with `; `.
pub fn inventory<W: Write>(report: &EvidenceReport, out: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["kind", "id", "name", "attributes"])
        .map_err(io)?;
    for table in &report.inventory {
        let kind = table.title.to_lowercase();
        for row in &table.rows {
            let name_column = table.columns.iter().position(|c| c == "Name");
            let name = name_column.map(|i| row[i].as_str()).unwrap_or("");
            let attributes: Vec<String> = table
                .columns
                .iter()
                .zip(row)
                .enumerate()
                .filter(|(i, _)| *i != 0 && Some(*i) != name_column)
                .map(|(_, (c, v))| format!("{c}={v}"))
                .collect();
            w.write_record([kind.as_str(), &row[0], name, &attributes.join("; ")])
                .map_err(io)?;
        }
    }
    finish(w)
}
