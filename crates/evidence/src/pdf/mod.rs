//! The evidence PDF: a NIST AI RMF evidence pack an auditor reads and can check.
//!
//! [`layout`] is a small layout engine (wrapped text, headings, tables that break across pages,
//! figure boxes); [`sections`] turns an [`EvidenceReport`] into body pages; [`figures`] draws the
//! vector chart and privilege-path figures; this module adds the cover, the table of contents,
//! running headers and page numbers, the outline, and serialises deterministically: fixed font
//! and bookmark ids, the trailer `/ID` and dates derived from the report, so the same report
//! gives the same bytes. The facts [`verify`](crate::pdf::read_marker) needs are also stored as
//! keys of the document information dictionary.

mod figures;
mod fonts;
mod layout;
mod sections;

use lopdf::{Object, StringFormat};
use printpdf::{Mm, PageAnnotId, PageAnnotation, PdfDocument, PdfPage, PdfSaveOptions};
use sha2::{Digest, Sha256};

use crate::report::EvidenceReport;
use fonts::{Face, Faces};
use layout::{
    ACCENT, BODY, BODY_BOTTOM, BODY_TOP, BODY_WIDTH, Canvas, Heading, INK, MARGIN_LEFT, MUTED,
    PAGE_HEIGHT, PAGE_WIDTH, RULE, SMALL_MUTED, TextStyle,
};

/// Writing the PDF failed.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("serialising the PDF: {0}")]
    Serialise(String),
}

/// Reading the statement back from a PDF failed.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error("not a readable PDF: {0}")]
    Unreadable(String),
    #[error(
        "the PDF carries no Bridle evidence statement (key /{0} missing): not an evidence pack of Bridle"
    )]
    Missing(&'static str),
}

/// What an evidence PDF states about its origin, as stored in its information dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceMarker {
    pub snapshot: i64,
    pub estate_sha256: String,
    pub audit_head: String,
    pub at: String,
    pub framework: String,
}

const KEY_SNAPSHOT: &str = "BridleSnapshot";
const KEY_ESTATE: &str = "BridleEstateSha256";
const KEY_HEAD: &str = "BridleAuditHead";
const KEY_AT: &str = "BridleEvaluatedAt";
const KEY_FRAMEWORK: &str = "BridleFramework";

/// Sidecar files whose hash the cover states (the snapshot and the findings).
const COVER_SIDECARS: usize = 2;

/// Table-of-contents lines per page.
const TOC_LINE: f32 = 15.0;

/// Renders `report` as a PDF.
pub fn render(report: &EvidenceReport) -> Result<Vec<u8>, PdfError> {
    let body = sections::body(report);
    let toc_entries: Vec<&Heading> = body.headings.iter().filter(|h| h.level <= 2).collect();
    let per_page = ((BODY_BOTTOM - BODY_TOP - 40.0) / TOC_LINE).floor() as usize;
    let toc_pages = toc_entries.len().div_ceil(per_page).max(1);
    // Pages before the body: the cover and the contents.
    let offset = 1 + toc_pages;
    let total = offset + body.pages.len();

    let mut pages = vec![cover(report)];
    for chunk in 0..toc_pages {
        let mut canvas = Canvas::default();
        let mut y = BODY_TOP;
        if chunk == 0 {
            y += 20.0;
            canvas.text(
                MARGIN_LEFT,
                y,
                TextStyle::new(Face::Bold, 17.0, ACCENT),
                "Contents",
            );
            y += 20.0;
        }
        for entry in toc_entries.iter().skip(chunk * per_page).take(per_page) {
            y += TOC_LINE;
            let indent = if entry.level == 1 { 0.0 } else { 14.0 };
            let style = if entry.level == 1 {
                TextStyle::new(Face::Bold, 10.0, INK)
            } else {
                TextStyle::new(Face::Regular, 9.5, INK)
            };
            let page = (entry.page + offset + 1).to_string();
            let right = MARGIN_LEFT + BODY_WIDTH;
            let title = fit(&entry.toc_title, style, BODY_WIDTH - indent - 40.0);
            canvas.text(MARGIN_LEFT + indent, y, style, &title);
            let title_end = MARGIN_LEFT
                + indent
                + Faces::get().width(style.face, style.size, &Faces::get().drawable(&title));
            let number_start = right - Faces::get().width(style.face, style.size, &page);
            if number_start - title_end > 12.0 {
                canvas.line((title_end + 4.0, y), (number_start - 4.0, y), 0.4, RULE);
            }
            canvas.text_right(right, y, style, &page);
        }
        pages.push(canvas);
    }
    pages.extend(body.pages);

    let header_left = format!(
        "{} · {} evidence pack",
        report.organisation, report.framework.name
    );
    let header_right = format!(
        "snapshot {} · {} · evaluated {}",
        report.snapshot.id,
        short(&report.snapshot.estate_sha256),
        report.at
    );
    let right_width = Faces::get().width(SMALL_MUTED.face, SMALL_MUTED.size, &header_right);
    let header_left = fit(&header_left, SMALL_MUTED, BODY_WIDTH - right_width - 16.0);
    for (index, canvas) in pages.iter_mut().enumerate().skip(1) {
        let y = 40.0;
        canvas.text(MARGIN_LEFT, y, SMALL_MUTED, &header_left);
        canvas.text_right(MARGIN_LEFT + BODY_WIDTH, y, SMALL_MUTED, &header_right);
        canvas.line(
            (MARGIN_LEFT, y + 6.0),
            (MARGIN_LEFT + BODY_WIDTH, y + 6.0),
            0.5,
            RULE,
        );
        let foot = PAGE_HEIGHT - 36.0;
        canvas.line(
            (MARGIN_LEFT, foot - 12.0),
            (MARGIN_LEFT + BODY_WIDTH, foot - 12.0),
            0.5,
            RULE,
        );
        canvas.text(
            MARGIN_LEFT,
            foot,
            SMALL_MUTED,
            "Generated by Bridle from the snapshot and audit chain named on the cover",
        );
        canvas.text_right(
            MARGIN_LEFT + BODY_WIDTH,
            foot,
            SMALL_MUTED,
            &format!("Page {} of {total}", index + 1),
        );
    }

    let mut doc = PdfDocument::new(&format!(
        "{} evidence pack — {}",
        report.framework.name, report.organisation
    ));
    let faces = Faces::get();
    for face in [Face::Regular, Face::Bold] {
        doc.resources.fonts.map.insert(
            layout::font_id(face),
            printpdf::PdfFont::new(faces.face(face).clone()),
        );
    }
    // Outline: the contents' entries, with fixed ids (printpdf would draw random ones). The
    // viewer lists them by page, then by title.
    doc.bookmarks.map.insert(
        PageAnnotId("B0000".to_owned()),
        PageAnnotation {
            name: "Contents".to_owned(),
            page: 2,
        },
    );
    for (i, entry) in toc_entries.iter().enumerate() {
        doc.bookmarks.map.insert(
            PageAnnotId(format!("B{:04}", i + 1)),
            PageAnnotation {
                name: entry.toc_title.clone(),
                page: entry.page + offset + 1,
            },
        );
    }
    doc.with_pages(
        pages
            .into_iter()
            .map(|c| PdfPage::new(Mm(210.0), Mm(297.0), c.ops))
            .collect(),
    );

    let options = PdfSaveOptions {
        optimize: true,
        subset_fonts: false,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&options, &mut warnings);
    stamp(&mut lo, report);
    lo.compress();
    let mut bytes = Vec::new();
    lo.save_to(&mut bytes)
        .map_err(|e| PdfError::Serialise(e.to_string()))?;
    Ok(bytes)
}

/// Replaces what printpdf randomises or dates (the trailer `/ID`, the XMP packet, the dates)
/// with values derived from the report, and records the evidence statement in the information
/// dictionary.
fn stamp(doc: &mut lopdf::Document, report: &EvidenceReport) {
    let id = Sha256::digest(
        format!(
            "{}\n{}\n{}\n{}\n{}",
            report.snapshot.estate_sha256,
            report.audit.head_hash,
            report.at,
            report.framework.id,
            report.organisation
        )
        .as_bytes(),
    );
    let id = hex::encode(&id[..16]);
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone().into_bytes(), StringFormat::Hexadecimal),
            Object::String(id.into_bytes(), StringFormat::Hexadecimal),
        ]),
    );
    if let Ok(catalog) = doc.catalog_mut() {
        catalog.remove(b"Metadata");
    }
    let date = pdf_date(&report.at);
    let info_id = doc.trailer.get(b"Info").and_then(Object::as_reference).ok();
    if let Some(info) = info_id.and_then(|id| doc.get_object_mut(id).ok())
        && let Ok(info) = info.as_dict_mut()
    {
        let text = |s: &str| Object::String(s.as_bytes().to_vec(), StringFormat::Literal);
        info.set("CreationDate", text(&date));
        info.set("ModDate", text(&date));
        info.set("Producer", text("Bridle"));
        info.set("Creator", text("bridle evidence pdf"));
        info.remove(b"GTS_PDFXVersion");
        info.remove(b"Trapped");
        info.set(KEY_SNAPSHOT, text(&report.snapshot.id.to_string()));
        info.set(KEY_ESTATE, text(&report.snapshot.estate_sha256));
        info.set(KEY_HEAD, text(&report.audit.head_hash));
        info.set(KEY_AT, text(&report.at));
        info.set(KEY_FRAMEWORK, text(&report.framework.id));
    }
    // printpdf names an embedded font after its resource id; give the fonts their own names so
    // viewers and `pdffonts` show what is embedded.
    for object in doc.objects.values_mut() {
        if let Ok(dict) = object.as_dict_mut() {
            for key in [b"BaseFont".as_slice(), b"FontName".as_slice()] {
                let renamed = match dict.get(key).and_then(Object::as_name) {
                    Ok(b"F1") => "DejaVuSans",
                    Ok(b"F2") => "DejaVuSans-Bold",
                    _ => continue,
                };
                dict.set(key, Object::Name(renamed.as_bytes().to_vec()));
            }
        }
    }
    doc.prune_objects();
}

/// `2026-11-28T12:00:00Z` as a PDF date `D:20261128120000Z`.
fn pdf_date(rfc3339: &str) -> String {
    let digits: String = rfc3339
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect();
    format!("D:{digits}Z")
}

/// Reads the evidence statement back from an evidence PDF.
pub fn read_marker(bytes: &[u8]) -> Result<EvidenceMarker, MarkerError> {
    let doc =
        lopdf::Document::load_mem(bytes).map_err(|e| MarkerError::Unreadable(e.to_string()))?;
    let info = doc
        .trailer
        .get(b"Info")
        .and_then(Object::as_reference)
        .and_then(|id| doc.get_dictionary(id))
        .map_err(|_| MarkerError::Missing(KEY_SNAPSHOT))?;
    let text = |key: &'static str| -> Result<String, MarkerError> {
        info.get(key.as_bytes())
            .and_then(Object::as_str)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .map_err(|_| MarkerError::Missing(key))
    };
    Ok(EvidenceMarker {
        snapshot: text(KEY_SNAPSHOT)?
            .parse()
            .map_err(|_| MarkerError::Missing(KEY_SNAPSHOT))?,
        estate_sha256: text(KEY_ESTATE)?,
        audit_head: text(KEY_HEAD)?,
        at: text(KEY_AT)?,
        framework: text(KEY_FRAMEWORK)?,
    })
}

/// The first 12 hex digits of a hash, for headers (the full hash is on the cover).
fn short(hash: &str) -> String {
    format!("sha256 {}…", &hash[..hash.len().min(12)])
}

/// `text` shortened with an ellipsis to fit `width`.
fn fit(text: &str, style: TextStyle, width: f32) -> String {
    let faces = Faces::get();
    let text = faces.drawable(text);
    if faces.width(style.face, style.size, &text) <= width {
        return text;
    }
    let mut out: String = text.clone();
    while !out.is_empty() && faces.width(style.face, style.size, &format!("{out}…")) > width {
        out.pop();
    }
    format!("{out}…")
}

fn cover(report: &EvidenceReport) -> Canvas {
    let mut c = Canvas::default();
    c.rect(0.0, 0.0, PAGE_WIDTH, 210.0, ACCENT, None);
    let white = layout::Rgb8(0xff, 0xff, 0xff);
    let pale = layout::Rgb8(0xd6, 0xe2, 0xf0);
    c.text(
        MARGIN_LEFT,
        80.0,
        TextStyle::new(Face::Bold, 11.0, pale),
        "EVIDENCE PACK",
    );
    let title_style = TextStyle::new(Face::Bold, 26.0, white);
    let mut y = 122.0;
    for line in layout::wrap(&report.framework.name, title_style, BODY_WIDTH) {
        c.text(MARGIN_LEFT, y, title_style, &line);
        y += 32.0;
    }
    let subtitle = TextStyle::new(Face::Regular, 11.0, pale);
    let mut y = y - 4.0;
    for line in layout::wrap(
        &format!(
            "{} · version {}",
            report.framework.publisher, report.framework.version
        ),
        subtitle,
        BODY_WIDTH,
    ) {
        c.text(MARGIN_LEFT, y, subtitle, &line);
        y += subtitle.line_height();
    }

    let mut y = 262.0;
    c.text(
        MARGIN_LEFT,
        y,
        TextStyle::new(Face::Bold, 20.0, INK),
        &report.organisation,
    );
    y += 22.0;
    for line in layout::wrap(&report.scope, BODY, BODY_WIDTH) {
        c.text(MARGIN_LEFT, y, BODY, &line);
        y += BODY.line_height();
    }
    y += 18.0;
    let label = TextStyle::new(Face::Bold, 8.5, MUTED);
    let value = TextStyle::new(Face::Regular, 9.5, INK);
    let fact = |c: &mut Canvas, y: &mut f32, name: &str, text: &str| {
        c.text(MARGIN_LEFT, *y, label, &name.to_uppercase());
        *y += 13.0;
        for line in layout::wrap(text, value, BODY_WIDTH) {
            c.text(MARGIN_LEFT, *y, value, &line);
            *y += value.line_height();
        }
        *y += 9.0;
    };
    fact(&mut c, &mut y, "Evaluation time", &report.at);
    fact(
        &mut c,
        &mut y,
        "Snapshot",
        &format!("{} taken {}", report.snapshot.id, report.snapshot.taken_at),
    );
    fact(
        &mut c,
        &mut y,
        "sha256 of the canonical estate export of the snapshot",
        &report.snapshot.estate_sha256,
    );
    fact(
        &mut c,
        &mut y,
        "Audit-chain head (newest entry's hash)",
        &format!(
            "{} (entry {})",
            report.audit.head_hash, report.audit.entries
        ),
    );
    // The snapshot and findings files; the flows' Cedar files are listed in Appendix D, so
    // the cover keeps to one page however many flows there are.
    for sidecar in report.sidecars.iter().take(COVER_SIDECARS) {
        fact(
            &mut c,
            &mut y,
            &format!("sha256 of {} ({})", sidecar.file_name, sidecar.what),
            &sidecar.sha256,
        );
    }
    if report.sidecars.len() > COVER_SIDECARS {
        fact(
            &mut c,
            &mut y,
            "Cedar files of the approval flows",
            &format!(
                "{} more files written next to this PDF; their sha256 are listed in Appendix D",
                report.sidecars.len() - COVER_SIDECARS
            ),
        );
    }
    let note = "To check this pack: `bridle evidence verify` on this file rebuilds the snapshot from the \
                inventory and compares its hash, and checks that the audit-chain head is an entry of an \
                intact chain. Without Bridle: `sha256sum` of the files written next to this PDF must match \
                the hashes above, and the snapshot file's sha256 is the estate hash.";
    y += 6.0;
    c.line((MARGIN_LEFT, y), (MARGIN_LEFT + BODY_WIDTH, y), 0.5, RULE);
    y += 14.0;
    for line in layout::wrap(note, SMALL_MUTED, BODY_WIDTH) {
        c.text(MARGIN_LEFT, y, SMALL_MUTED, &line);
        y += SMALL_MUTED.line_height();
    }
    let source = format!(
        "Framework source: {} · {}",
        report.framework.source.join(" · "),
        report.framework.licence
    );
    let lines = layout::wrap(&source, SMALL_MUTED, BODY_WIDTH);
    let mut y = PAGE_HEIGHT - 36.0 - lines.len() as f32 * SMALL_MUTED.line_height();
    for line in lines {
        y += SMALL_MUTED.line_height();
        c.text(MARGIN_LEFT, y, SMALL_MUTED, &line);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::*;

    fn report() -> EvidenceReport {
        let sub = SubcategorySection {
            id: "GOVERN 1.1".into(),
            text: "Legal and regulatory requirements involving AI are understood, managed, and documented.".into(),
            controls: vec![],
            status: ItemStatus::NotAssessed,
            reason: "no control is mapped.".into(),
            findings: vec![],
            risks: vec![],
            attestations: vec![],
        };
        EvidenceReport {
            organisation: "Zoë & Co 中".into(),
            scope: "Test scope.".into(),
            framework: FrameworkInfo {
                id: "nist-ai-rmf".into(),
                name: "NIST AI RMF".into(),
                version: "1.0".into(),
                publisher: "NIST".into(),
                source: vec!["https://doi.org/10.6028/NIST.AI.100-1".into()],
                licence: "public domain".into(),
            },
            at: "2026-11-28T12:00:00Z".into(),
            snapshot: SnapshotInfo {
                id: 3,
                taken_at: "2026-11-28T10:00:00Z".into(),
                estate_sha256: "a".repeat(64),
            },
            audit: AuditInfo {
                head_hash: "b".repeat(64),
                entries: 7,
                acknowledged_breaks: vec![],
            },
            sidecars: vec![],
            counts: vec![("Agents".into(), 1)],
            functions: vec![FunctionSection {
                id: "GOVERN".into(),
                title: "Govern".into(),
                text: Some("A culture of risk management is cultivated and present.".into()),
                categories: vec![CategorySection {
                    id: "GOVERN 1".into(),
                    title: "GOVERN 1".into(),
                    text: None,
                    subcategories: vec![sub],
                }],
            }],
            findings: vec![],
            risks: vec![],
            attestations: vec![],
            figures: vec![PathFigure {
                title: "a reaches b".into(),
                caption: "c".into(),
                nodes: vec![
                    FigureNode {
                        id: "agent:a".into(),
                        label: "A".into(),
                        kind: "agent".into(),
                        crown_jewel: false,
                        x: 0.0,
                        y: 0.0,
                    },
                    FigureNode {
                        id: "res:b".into(),
                        label: "B".into(),
                        kind: "resource".into(),
                        crown_jewel: true,
                        x: 240.0,
                        y: 0.0,
                    },
                ],
                edges: vec![(0, 1)],
                width: 240.0,
                height: 0.0,
            }],
            inventory: vec![],
            method: Method {
                rules: vec![],
                thresholds: vec![],
                checks: vec![],
                out_of_scope: vec![],
                crosswalk_notes: vec![],
            },
            crosswalk: vec![],
            flows: vec![],
        }
    }

    const FAILING: &str = "flow-approval-dominates@triage/stage";

    fn flow_section() -> FlowSection {
        let node = |id: &str, kind: &str, status: &str, x: f64, y: f64| FlowDiagramNode {
            id: id.into(),
            kind: kind.into(),
            label: id.into(),
            detail: format!("{kind} detail that is long enough to wrap onto a second line"),
            status: status.into(),
            start: id == "issue",
            x,
            y,
        };
        let finding = |id: &str, status: &str| FlowFindingEntry {
            id: id.into(),
            status: status.into(),
            severity: "high".into(),
            summary: format!("{id} summary"),
            hint: Some("approve first".into()),
        };
        FlowSection {
            id: "triage".into(),
            agent: "agent:a".into(),
            purpose: "Triage invoices.".into(),
            environment: Some("prod".into()),
            data_sensitivity: "confidential".into(),
            identity: "spiffe://acme.example/agents/{agent}/{task}/{run}".into(),
            author: None,
            version: 2,
            saved: "saved 2026-11-28T10:00:00Z by alex@host".into(),
            sha256: "c".repeat(64),
            grants: vec!["read: read on res:invoices, ttl 15m".into()],
            revocation: "revoke_leases on task_end, kill_switch".into(),
            diagram: FlowDiagram {
                nodes: vec![
                    node("issue", "issue", "pass", 90.0, 54.0),
                    node("approve", "approval", "none", 300.0, 54.0),
                    node("stage", "tool_call", "fail", 300.0, 174.0),
                    node("done", "end", "none", 510.0, 54.0),
                ],
                edges: vec![
                    FlowDiagramEdge {
                        from: 0,
                        to: 1,
                        highlighted: false,
                    },
                    FlowDiagramEdge {
                        from: 0,
                        to: 2,
                        highlighted: true,
                    },
                    FlowDiagramEdge {
                        from: 1,
                        to: 3,
                        highlighted: false,
                    },
                    FlowDiagramEdge {
                        from: 2,
                        to: 3,
                        highlighted: false,
                    },
                ],
            },
            findings: vec![
                finding("flow-structure@triage/triage", "pass"),
                finding(FAILING, "fail"),
            ],
            subcategories: vec!["GOVERN 1.1".into()],
            cedar: CedarExcerpt {
                lines: vec![
                    "// grant read".into(),
                    "@id(\"grant:read\")".into(),
                    "permit (".into(),
                    "  principal is Bridle::Workload,".into(),
                ],
                more_lines: 12,
                file: Some("pack.pdf.flows/triage.cedar".into()),
                error: None,
            },
        }
    }

    /// Every text drawn on the body pages, in order.
    fn texts(flow: &layout::Flow) -> Vec<String> {
        flow.pages
            .iter()
            .flat_map(|p| p.ops.iter())
            .filter_map(|op| match op {
                printpdf::Op::ShowText { items } => Some(
                    items
                        .iter()
                        .map(|i| match i {
                            printpdf::TextItem::Text(t) => t.clone(),
                            _ => String::new(),
                        })
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_flow_gets_a_section_and_its_subcategories_name_it() {
        let mut report = report();
        report.flows = vec![flow_section()];
        report.functions[0].categories[0].subcategories[0].findings = vec![
            FAILING.to_owned(),
            "flow-structure@triage/triage".to_owned(),
        ];
        let body = sections::body(&report);
        let toc: Vec<&str> = body.headings.iter().map(|h| h.toc_title.as_str()).collect();
        assert!(toc.contains(&"Approval flows"), "{toc:?}");
        assert!(toc.contains(&"Flow triage — agent:a"), "{toc:?}");
        let texts = texts(&body);
        for expected in [
            "Flows: triage — 1 fail, 1 pass (see “Approval flows”).",
            FAILING,
            "@id(\"grant:read\")",
            "  principal is Bridle::Workload,",
            "… 12 more lines; full policies in pack.pdf.flows/triage.cedar.",
            "FAIL",
            "ISSUE",
        ] {
            assert!(
                texts.iter().any(|t| t.contains(expected.trim_start())),
                "no `{expected}` in {texts:#?}"
            );
        }
        let a = render(&report).unwrap();
        assert!(a == render(&report).unwrap(), "two renderings differ");
        assert!(!String::from_utf8_lossy(&a).contains("/Image"));
    }

    #[test]
    fn rendering_is_deterministic_and_states_its_marker() {
        let report = report();
        let a = render(&report).unwrap();
        let b = render(&report).unwrap();
        assert!(a == b, "two renderings differ");
        let marker = read_marker(&a).unwrap();
        assert_eq!(
            marker,
            EvidenceMarker {
                snapshot: 3,
                estate_sha256: "a".repeat(64),
                audit_head: "b".repeat(64),
                at: "2026-11-28T12:00:00Z".into(),
                framework: "nist-ai-rmf".into(),
            }
        );
        let mut other = report.clone();
        other.at = "2026-11-29T12:00:00Z".into();
        assert!(render(&other).unwrap() != a);
        let text = String::from_utf8_lossy(&a);
        assert!(!text.contains("/Image"));
        assert!(text.contains("/Outlines"));
        assert!(matches!(
            read_marker(b"%PDF-1.3 garbage"),
            Err(MarkerError::Unreadable(_))
        ));
    }
}
