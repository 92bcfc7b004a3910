//! The evidence as CSV tables (RFC 4180 through the `csv` crate): findings, risks, inventory.
//!
//! Every cell is written through [`neutralise`]: a name taken from an inventory (anyone who can
//! write a broker or an estate file chooses it) must not become a live formula when the table is
//! opened in a spreadsheet (CSV injection, OWASP).

use std::borrow::Cow;
use std::io::Write;

use crate::report::EvidenceReport;

/// A cell as spreadsheet programs read it as text: one beginning with `=`, `+`, `-`, `@`, a tab
/// or a carriage return gets a leading apostrophe, which the programs hide and which stops them
/// from evaluating the cell. Other cells are unchanged.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Writes one record with every cell neutralised.
fn row<W: Write, const N: usize>(w: &mut csv::Writer<W>, cells: [&str; N]) -> std::io::Result<()> {
    w.write_record(cells.map(neutralise).iter().map(|c| c.as_bytes()))
        .map_err(io)
}

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
        row(
            &mut w,
            [
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
            ],
        )?;
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
        row(
            &mut w,
            [
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
            ],
        )?;
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
        for cells in &table.rows {
            let name_column = table.columns.iter().position(|c| c == "Name");
            let name = name_column.map(|i| cells[i].as_str()).unwrap_or("");
            let attributes: Vec<String> = table
                .columns
                .iter()
                .zip(cells)
                .enumerate()
                .filter(|(i, _)| *i != 0 && Some(*i) != name_column)
                .map(|(_, (c, v))| format!("{c}={v}"))
                .collect();
            row(
                &mut w,
                [kind.as_str(), &cells[0], name, &attributes.join("; ")],
            )?;
        }
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_a_spreadsheet_would_evaluate_are_neutralised() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("agent:a", "agent:a"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), written, "{cell:?}");
        }
        let mut out = Vec::new();
        let mut w = csv::Writer::from_writer(&mut out);
        row(&mut w, ["=cmd|' /C calc'!A0", "ok"]).unwrap();
        drop(w);
        assert_eq!(String::from_utf8(out).unwrap(), "'=cmd|' /C calc'!A0,ok\n");
    }
}
