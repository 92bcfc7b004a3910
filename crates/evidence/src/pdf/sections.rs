//! The body of the evidence pack, section by section, from an [`EvidenceReport`].

use super::figures;
use super::fonts::Face;
use super::layout::{BODY, BODY_WIDTH, Flow, INK, SMALL, SMALL_MUTED, TextStyle, col};
use crate::report::{EvidenceReport, FindingEntry, FlowSection, ItemStatus, SubcategorySection};

/// How many risks and findings the executive summary lists (the summary fits one page).
const TOP: usize = 6;

pub(crate) fn body(report: &EvidenceReport) -> Flow {
    let mut flow = Flow::new();
    executive_summary(&mut flow, report);
    for function in &report.functions {
        let toc = match &function.text {
            Some(text) => format!("{} — {text}", function.id),
            None => function.id.clone(),
        };
        flow.heading_with_toc(1, &format!("{} function", function.id), &toc);
        if let Some(text) = &function.text {
            flow.paragraph(BODY, text);
        }
        let counts = report.status_counts(Some(&function.id));
        flow.paragraph(
            SMALL_MUTED,
            &format!(
                "{} subcategories: {}.",
                counts.iter().sum::<usize>(),
                status_breakdown(&counts)
            ),
        );
        for category in &function.categories {
            let toc = match &category.text {
                Some(text) => format!("{} — {text}", category.id),
                None => category.id.clone(),
            };
            flow.heading_with_toc(2, &category.id, &toc);
            if let Some(text) = &category.text {
                flow.paragraph(BODY, text);
            }
            for sub in &category.subcategories {
                subcategory(&mut flow, report, sub);
            }
        }
    }
    approval_flows(&mut flow, report);
    path_figures(&mut flow, report);
    findings(&mut flow, report);
    risk_register(&mut flow, report);
    attestations(&mut flow, report);
    inventory(&mut flow, report);
    method(&mut flow, report);
    crosswalk(&mut flow, report);
    verification(&mut flow, report);
    flow
}

/// `3 met, 1 partly met, …` over every status, in the rulebook's order.
fn status_breakdown(counts: &[usize; ItemStatus::ALL.len()]) -> String {
    ItemStatus::ALL
        .iter()
        .map(|s| format!("{} {}", counts[*s as usize], s.label()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn executive_summary(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Executive summary");
    let counts = report.status_counts(None);
    let total: usize = counts.iter().sum();
    let fails = report
        .findings
        .iter()
        .filter(|f| f.status == "fail")
        .count();
    let unknown = report
        .findings
        .iter()
        .filter(|f| f.status == "unknown")
        .count();
    let open_risks = report.risks.iter().filter(|r| r.status == "open").count();
    flow.paragraph(
        BODY,
        &format!(
            "At {at}, the inventory of snapshot {snap} was evaluated against the {total} subcategories of {fw}: \
             {breakdown}. {out} are out of scope for an identity-and-access tool: they concern model \
             evaluation, fairness, stakeholder engagement, training, legal analysis or business decisions, \
             which no access data can show (the Method appendix gives each reason); \"not assessed\" means \
             in scope with no finding or attestation yet. The automated \
             checks produced {n} findings: {fails} failing and {unknown} undecided for lack of data. The risk \
             register holds {risks} risks, {open} of them open.",
            at = report.at,
            snap = report.snapshot.id,
            fw = report.framework.name,
            breakdown = status_breakdown(&counts),
            out = counts[ItemStatus::OutOfScope as usize],
            n = report.findings.len(),
            risks = report.risks.len(),
            open = open_risks,
        ),
    );

    flow.heading(2, "Inventory");
    let row: Vec<String> = report.counts.iter().map(|(_, n)| n.to_string()).collect();
    let columns: Vec<_> = report.counts.iter().map(|(k, _)| col(k, 1.0)).collect();
    flow.table(&columns, &[row]);

    flow.heading(2, "Coverage per function");
    let rows: Vec<(String, [usize; ItemStatus::ALL.len()])> = report
        .functions
        .iter()
        .map(|f| (f.id.clone(), report.status_counts(Some(&f.id))))
        .collect();
    let chart_w = BODY_WIDTH;
    flow.figure(figures::coverage_chart_height(rows.len()), |c, top| {
        figures::coverage_chart(c, top, chart_w, &rows);
    });
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(id, c)| {
            let total: usize = c.iter().sum();
            std::iter::once(id.clone())
                .chain(c.iter().map(usize::to_string))
                .chain(std::iter::once(total.to_string()))
                .collect()
        })
        .collect();
    // One column per status, in the rulebook's order, then the total.
    let labels: Vec<String> = ItemStatus::ALL
        .iter()
        .map(|s| {
            let label = s.label();
            let mut chars = label.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        })
        .collect();
    let columns: Vec<_> = std::iter::once(col("Function", 1.4))
        .chain(labels.iter().map(|l| col(l, 1.0)))
        .chain(std::iter::once(col("Subcategories", 1.1)))
        .collect();
    flow.table(&columns, &table);

    flow.heading(2, "Top risks");
    if report.risks.is_empty() {
        flow.paragraph(BODY, "The risk register is empty.");
    } else {
        let rows: Vec<Vec<String>> = report
            .risks
            .iter()
            .take(TOP)
            .map(|r| {
                vec![
                    format!("R{}", r.id),
                    r.title.clone(),
                    format!("{} ({})", r.residual_score, r.level),
                    r.status.clone(),
                    r.owner.clone().unwrap_or_else(|| "—".to_owned()),
                ]
            })
            .collect();
        flow.table(
            &[
                col("Risk", 0.6),
                col("Title", 4.0),
                col("Residual", 1.2),
                col("Status", 1.0),
                col("Owner", 1.6),
            ],
            &rows,
        );
    }

    flow.heading(2, "Top findings");
    let mut failing: Vec<&FindingEntry> = report
        .findings
        .iter()
        .filter(|f| f.status == "fail")
        .collect();
    failing.sort_by_key(|f| std::cmp::Reverse(severity_rank(&f.severity)));
    if failing.is_empty() {
        flow.paragraph(BODY, "No automated check fails.");
    } else {
        let rows: Vec<Vec<String>> = failing
            .iter()
            .take(TOP)
            .map(|f| vec![f.severity.clone(), f.id.clone(), f.summary.clone()])
            .collect();
        flow.table(
            &[
                col("Severity", 0.9),
                col("Finding", 2.6),
                col("What was found", 4.5),
            ],
            &rows,
        );
        if failing.len() > TOP {
            flow.paragraph(
                SMALL_MUTED,
                &format!(
                    "{} more failing findings are listed under “Findings and evidence”.",
                    failing.len() - TOP
                ),
            );
        }
    }
}

fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

fn status_style(status: ItemStatus) -> TextStyle {
    TextStyle::new(Face::Bold, 9.5, figures::status_color(status))
}

fn subcategory(flow: &mut Flow, report: &EvidenceReport, sub: &SubcategorySection) {
    flow.heading(3, &sub.id);
    flow.paragraph_at(0.0, BODY, &sub.text);
    flow.space(3.0);
    flow.labelled_styled(
        "Status:",
        status_style(sub.status),
        sub.status.label(),
        &format!("— {}", sub.reason),
    );
    if !sub.controls.is_empty() {
        let rows: Vec<Vec<String>> = sub
            .controls
            .iter()
            .map(|c| {
                let result = if c.assessment == "manual" {
                    let attested: Vec<String> = sub
                        .attestations
                        .iter()
                        .filter_map(|id| report.attestation(*id))
                        .filter(|a| a.target == c.id || a.target == sub.id)
                        .map(|a| format!("A{}", a.id))
                        .collect();
                    if attested.is_empty() {
                        "manual: no attestation recorded".to_owned()
                    } else {
                        format!("attested ({})", attested.join(", "))
                    }
                } else {
                    format!(
                        "{} pass · {} fail · {} unknown · {} accepted",
                        c.pass, c.fail, c.unknown, c.accepted
                    )
                };
                vec![
                    c.id.clone(),
                    c.title.clone(),
                    c.assessment.clone(),
                    result,
                    c.status.label().to_owned(),
                ]
            })
            .collect();
        flow.space(2.0);
        flow.table(
            &[
                col("Control", 0.8),
                col("Title", 3.6),
                col("Assessed", 1.1),
                col("Findings", 2.6),
                col("Status", 1.2),
            ],
            &rows,
        );
    }
    let flows: Vec<String> = report
        .flows
        .iter()
        .filter(|f| f.findings.iter().any(|x| sub.findings.contains(&x.id)))
        .map(|f| format!("{} — {}", f.id, f.status_summary(Some(&sub.findings))))
        .collect();
    if !flows.is_empty() {
        flow.paragraph_at(
            0.0,
            SMALL,
            &format!("Flows: {} (see “Approval flows”).", flows.join("; ")),
        );
    }
    let open: Vec<&FindingEntry> = sub
        .findings
        .iter()
        .filter_map(|id| report.finding(id))
        .filter(|f| f.status != "pass")
        .collect();
    let passing = sub.findings.len() - open.len();
    if !sub.findings.is_empty() {
        if open.is_empty() {
            flow.paragraph_at(
                0.0,
                SMALL_MUTED,
                &format!("All {passing} findings of the mapped controls pass."),
            );
        } else {
            let rows: Vec<Vec<String>> = open
                .iter()
                .map(|f| {
                    let mut evidence = f.evidence.first().cloned().unwrap_or_default();
                    if f.evidence.len() > 1 {
                        evidence.push_str(&format!(" (+{} more lines)", f.evidence.len() - 1));
                    }
                    vec![
                        format!("{} / {}", f.status, f.severity),
                        f.id.clone(),
                        f.summary.clone(),
                        evidence,
                    ]
                })
                .collect();
            flow.table(
                &[
                    col("Status", 1.2),
                    col("Finding", 2.4),
                    col("What was found", 3.0),
                    col("Evidence", 3.0),
                ],
                &rows,
            );
            flow.paragraph_at(
                0.0,
                SMALL_MUTED,
                &format!(
                    "{passing} further findings pass. Full evidence of every finding: section “Findings and evidence”."
                ),
            );
        }
    }
    for id in &sub.risks {
        if let Some(r) = report.risk(*id) {
            flow.paragraph_at(
                0.0,
                SMALL,
                &format!(
                    "Linked risk R{}: {} — {} (residual {}, {}), treatment {}.",
                    r.id, r.title, r.status, r.residual_score, r.level, r.treatment
                ),
            );
        }
    }
    for id in &sub.attestations {
        if let Some(a) = report.attestation(*id) {
            let file = match (&a.file_name, &a.file_sha256) {
                (Some(name), Some(hash)) => format!(" — attached {name} (sha256 {hash})"),
                _ => String::new(),
            };
            flow.paragraph_at(
                0.0,
                SMALL,
                &format!(
                    "Attestation A{} for {} {} by {} at {}: “{}”{file}",
                    a.id, a.target_kind, a.target, a.by, a.at, a.statement
                ),
            );
        }
    }
    flow.space(4.0);
}

/// The chapter on approval flows: one section per stored flow.
fn approval_flows(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Approval flows");
    flow.paragraph(
        BODY,
        "Each approval flow states how one agent task gets its workload identity, its just-in-time \
         grants, its human approval and its revocation. For each stored flow: its facts, its graph of \
         steps, the findings of the design checks (approval and revocation on every path, standing \
         access, least privilege, separation of duties, identity) and of the drift checks against the \
         inventory at the evaluation time, and the first lines of the Cedar policies generated from it. \
         The findings count in the statuses of the NIST AI RMF subcategories listed with each flow.",
    );
    if report.flows.is_empty() {
        flow.paragraph(BODY, "No approval flow is stored.");
    }
    for section in &report.flows {
        flow_section(flow, section);
    }
}

fn flow_section(flow: &mut Flow, section: &FlowSection) {
    flow.heading_with_toc(
        2,
        &format!("Flow {}", section.id),
        &format!("Flow {} — {}", section.id, section.agent),
    );
    flow.paragraph(BODY, &section.purpose);
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".to_owned());
    let mut rows = vec![
        vec!["Agent".to_owned(), section.agent.clone()],
        vec!["Environment".to_owned(), opt(&section.environment)],
        vec![
            "Data sensitivity".to_owned(),
            section.data_sensitivity.clone(),
        ],
        vec!["Workload identity".to_owned(), section.identity.clone()],
        vec!["Author".to_owned(), opt(&section.author)],
        vec![
            "Stored document".to_owned(),
            format!(
                "version {}, {}\nsha256 {}",
                section.version, section.saved, section.sha256
            ),
        ],
        vec![
            "Grants".to_owned(),
            if section.grants.is_empty() {
                "none".to_owned()
            } else {
                section.grants.join("\n")
            },
        ],
        vec!["Revocation".to_owned(), section.revocation.clone()],
        vec![
            "Findings".to_owned(),
            format!(
                "{} ({} in all)",
                section.status_summary(None),
                section.findings.len()
            ),
        ],
    ];
    rows.push(vec![
        "NIST AI RMF subcategories".to_owned(),
        if section.subcategories.is_empty() {
            "none".to_owned()
        } else {
            section.subcategories.join(", ")
        },
    ]);
    flow.table(&[col("Fact", 1.0), col("Value", 3.4)], &rows);

    if !section.diagram.nodes.is_empty() {
        let height = figures::flow_diagram_height(&section.diagram, BODY_WIDTH);
        flow.ensure(height + 24.0);
        flow.heading(3, &format!("Steps of {}", section.id));
        flow.figure(height, |c, top| {
            figures::flow_diagram(c, top, BODY_WIDTH, &section.diagram)
        });
    }

    flow.heading(3, &format!("Findings of {}", section.id));
    if section.findings.is_empty() {
        flow.paragraph(BODY, "No check produced a finding for this flow.");
    } else {
        let mut ordered: Vec<_> = section.findings.iter().collect();
        // Failing and undecided first, each group in check order.
        ordered.sort_by_key(|f| match f.status.as_str() {
            "fail" => 0,
            "unknown" => 1,
            "accepted" => 2,
            _ => 3,
        });
        let rows: Vec<Vec<String>> = ordered
            .iter()
            .map(|f| {
                let mut what = f.summary.clone();
                if f.status != "pass"
                    && let Some(hint) = &f.hint
                {
                    what.push_str(&format!("\nFix: {hint}"));
                }
                vec![format!("{} / {}", f.status, f.severity), f.id.clone(), what]
            })
            .collect();
        flow.table(
            &[
                col("Status", 0.9),
                col("Finding", 3.8),
                col("What was found", 3.5),
            ],
            &rows,
        );
    }

    flow.heading(3, &format!("Cedar policies of {} (excerpt)", section.id));
    let cedar = &section.cedar;
    if let Some(error) = &cedar.error {
        flow.paragraph(
            BODY,
            &format!("No Cedar policies could be generated from this flow: {error}"),
        );
        return;
    }
    flow.code_block(&cedar.lines, TextStyle::new(Face::Regular, 7.0, INK));
    let rest = match (cedar.more_lines, &cedar.file) {
        (0, Some(file)) => format!("The policies in full; also in {file}."),
        (0, None) => "The policies in full.".to_owned(),
        (n, Some(file)) => format!("… {n} more lines; full policies in {file}."),
        (n, None) => format!("… {n} more lines (`bridle flow cedar {}`).", section.id),
    };
    flow.paragraph(SMALL_MUTED, &rest);
}

fn path_figures(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Privilege paths to crown jewels");
    flow.paragraph(
        BODY,
        "Each figure shows the privilege paths by which an agent reaches a crown-jewel resource, as \
         found by the crown-jewel reach check: entities are boxes (coloured by kind; crown jewels \
         outlined in red), arrows are the grants, identities and credentials that make each hop valid. \
         Positions come from the same layered layout as the console's graph view.",
    );
    if report.figures.is_empty() {
        flow.paragraph(
            BODY,
            "No agent reaches a crown jewel at the evaluation time.",
        );
    }
    for (i, figure) in report.figures.iter().enumerate() {
        let height = figures::path_figure_height(figure, BODY_WIDTH);
        flow.ensure(height + 40.0);
        flow.heading(3, &format!("Figure {}. {}", i + 1, figure.title));
        flow.figure(height, |c, top| {
            figures::path_figure(c, top, BODY_WIDTH, figure)
        });
        flow.paragraph(SMALL_MUTED, &figure.caption);
    }
}

fn findings(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Findings and evidence");
    flow.paragraph(
        BODY,
        "Every finding of the automated checks bearing on the framework, failing and undecided ones \
         first with the facts that decided them, then the passing ones. The findings JSON written next \
         to this PDF holds the same findings.",
    );
    for (title, status) in [
        ("Failing findings", "fail"),
        ("Accepted (risk accepted)", "accepted"),
        ("Undecided findings (missing data)", "unknown"),
    ] {
        let list: Vec<&FindingEntry> = report
            .findings
            .iter()
            .filter(|f| f.status == status)
            .collect();
        if list.is_empty() {
            continue;
        }
        flow.heading(2, &format!("{title} ({})", list.len()));
        for f in list {
            flow.ensure(4.0 * BODY.line_height());
            flow.labelled_styled(
                &format!("{} ·", f.severity),
                TextStyle::new(Face::Bold, 9.5, INK),
                &f.id,
                "",
            );
            flow.paragraph_at(12.0, SMALL, &format!("{} — {}", f.title, f.summary));
            for line in &f.evidence {
                flow.paragraph_at(12.0, SMALL_MUTED, &format!("• {line}"));
            }
            if let Some(risk) = f.accepted_by {
                flow.paragraph_at(12.0, SMALL, &format!("Accepted under risk R{risk}."));
            }
            flow.paragraph_at(
                12.0,
                SMALL_MUTED,
                &format!("Controls: {}", f.controls.join(", ")),
            );
            flow.space(4.0);
        }
    }
    let passing: Vec<Vec<String>> = report
        .findings
        .iter()
        .filter(|f| f.status == "pass")
        .map(|f| vec![f.id.clone(), f.summary.clone()])
        .collect();
    if !passing.is_empty() {
        flow.heading(2, &format!("Passing findings ({})", passing.len()));
        flow.table(&[col("Finding", 1.0), col("What was found", 1.4)], &passing);
    }
}

fn risk_register(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Risk register");
    flow.paragraph(
        BODY,
        "Risks as recorded at the evaluation time (an acceptance past its expiry counts as open), \
         highest residual score first. Scores are likelihood × impact on 5 × 5 scales.",
    );
    if report.risks.is_empty() {
        flow.paragraph(BODY, "The risk register is empty.");
        return;
    }
    let rows: Vec<Vec<String>> = report
        .risks
        .iter()
        .map(|r| {
            vec![
                format!("R{}", r.id),
                format!("{}\n{}", r.title, r.description),
                format!("{}×{} = {}", r.likelihood, r.impact, r.inherent_score),
                format!("{} ({})", r.residual_score, r.level),
                format!("{} / {}", r.status, r.treatment),
                r.owner.clone().unwrap_or_else(|| "—".to_owned()),
                [
                    r.categories.join(", "),
                    r.findings.join(", "),
                    r.controls.join(", "),
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            ]
        })
        .collect();
    flow.table(
        &[
            col("Id", 0.45),
            col("Title and description", 3.0),
            col("Inherent", 0.95),
            col("Residual", 0.95),
            col("Status, treatment", 1.25),
            col("Owner", 1.4),
            col("Links", 2.0),
        ],
        &rows,
    );
    accepted_exceptions(flow, report);
}

/// Every acceptance in the register: who, when, why, until when, and what it covers.
fn accepted_exceptions(flow: &mut Flow, report: &EvidenceReport) {
    let accepted: Vec<_> = report
        .risks
        .iter()
        .filter_map(|r| r.acceptance.as_ref().map(|a| (r, a)))
        .collect();
    flow.heading(2, &format!("Accepted exceptions ({})", accepted.len()));
    if accepted.is_empty() {
        flow.paragraph(BODY, "No risk was accepted at the evaluation time.");
        return;
    }
    flow.paragraph(
        BODY,
        "A failing finding an unexpired acceptance covers is reported as \"not met — exception \
         accepted\", never as met. An acceptance past its expiry covers nothing and its risk counts \
         as open.",
    );
    let rows: Vec<Vec<String>> = accepted
        .iter()
        .map(|(r, a)| {
            vec![
                format!("R{}", r.id),
                format!("{}\n{}", a.by, a.at),
                a.reason.clone(),
                if a.expired {
                    format!("{}\n(expired)", a.expires)
                } else {
                    a.expires.clone()
                },
                if a.covers.is_empty() {
                    "—".to_owned()
                } else {
                    a.covers.join("\n")
                },
            ]
        })
        .collect();
    flow.table(
        &[
            col("Risk", 0.65),
            col("Accepted by, when", 1.7),
            col("Reason", 3.0),
            col("Until", 1.5),
            col("Findings covered", 3.1),
        ],
        &rows,
    );
}

fn attestations(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Manual attestations");
    flow.paragraph(
        BODY,
        "Statements recorded by hand for controls and subcategories that no automated check can \
         decide. Each was written to the audit log when it was made; attached files are identified \
         by their sha256. An attestation past its expiry is listed but no longer counts.",
    );
    if report.attestations.is_empty() {
        flow.paragraph(BODY, "No attestation has been recorded.");
        return;
    }
    let rows: Vec<Vec<String>> = report
        .attestations
        .iter()
        .map(|a| {
            vec![
                format!("A{}", a.id),
                format!("{} {}", a.target_kind, a.target),
                a.statement.clone(),
                match (&a.expires, a.expired) {
                    (Some(e), true) => format!("{}\n{}\nexpired {e}", a.by, a.at),
                    (Some(e), false) => format!("{}\n{}\nuntil {e}", a.by, a.at),
                    (None, _) => format!("{}\n{}", a.by, a.at),
                },
                match (&a.file_name, &a.file_sha256) {
                    (Some(n), Some(h)) => format!("{n}\nsha256 {h}"),
                    _ => "—".to_owned(),
                },
            ]
        })
        .collect();
    flow.table(
        &[
            col("Id", 0.5),
            col("For", 1.4),
            col("Statement", 3.4),
            col("By, when", 1.6),
            col("Attached file", 2.2),
        ],
        &rows,
    );
}

fn inventory(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Appendix A. Inventory");
    flow.paragraph(
        BODY,
        &format!(
            "The entities of snapshot {} as evaluated. The canonical estate file written next to this \
             PDF holds every field.",
            report.snapshot.id
        ),
    );
    for table in &report.inventory {
        flow.heading(2, &format!("{} ({})", table.title, table.rows.len()));
        let columns: Vec<_> = table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| col(c, if i < 2 { 1.6 } else { 1.0 }))
            .collect();
        flow.table(&columns, &table.rows);
    }
}

fn method(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Appendix B. Method");
    flow.heading(2, "How statuses are decided");
    for rule in &report.method.rules {
        flow.paragraph_at(8.0, BODY, &format!("• {rule}"));
    }
    flow.space(4.0);
    flow.heading(2, "Thresholds in force");
    let rows: Vec<Vec<String>> = report
        .method
        .thresholds
        .iter()
        .map(|(k, v)| vec![k.clone(), v.clone()])
        .collect();
    flow.table(&[col("Threshold", 2.0), col("Value", 1.0)], &rows);
    flow.heading(2, "Automated checks");
    let rows: Vec<Vec<String>> = report
        .method
        .checks
        .iter()
        .map(|(id, title, controls)| vec![id.clone(), title.clone(), controls.clone()])
        .collect();
    flow.table(
        &[
            col("Check", 1.6),
            col("What it checks", 3.0),
            col("Controls", 0.8),
        ],
        &rows,
    );
    flow.heading(
        2,
        &format!(
            "Out of scope ({} subcategories)",
            report.method.out_of_scope.len()
        ),
    );
    flow.paragraph(
        BODY,
        "Bridle governs the identities and access of AI agents. These subcategories concern outcomes no \
         access data can show; they are reported as out of scope and cannot be attested in Bridle. The \
         scope is Bridle's own judgement.",
    );
    let rows: Vec<Vec<String>> = report
        .method
        .out_of_scope
        .iter()
        .map(|(id, reason)| vec![id.clone(), reason.clone()])
        .collect();
    flow.table(
        &[col("Subcategory", 1.0), col("Why it is out of scope", 4.0)],
        &rows,
    );
    flow.heading(2, "The crosswalk and draft labels");
    for note in &report.method.crosswalk_notes {
        flow.paragraph_at(8.0, BODY, &format!("• {note}"));
    }
}

fn crosswalk(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Appendix C. Cross-references");
    flow.paragraph(
        BODY,
        "For each control of the library: the NIST AI RMF subcategories it addresses and the OWASP \
         Top 10 for Agentic Applications (ASI), OWASP Non-Human Identities Top 10 (NHI) and CSA \
         MAESTRO items it maps to. MAESTRO threat ids are Bridle's own (MAESTRO does not number its \
         threats).",
    );
    let rows: Vec<Vec<String>> = report
        .crosswalk
        .iter()
        .map(|c| {
            vec![
                format!("{}\n{}", c.control, c.title),
                c.nist.join(", "),
                c.owasp_asi.join(", "),
                c.owasp_nhi.join(", "),
                c.maestro.join(", "),
            ]
        })
        .collect();
    flow.table(
        &[
            col("Control", 2.4),
            col("NIST AI RMF", 2.2),
            col("OWASP ASI", 1.2),
            col("OWASP NHI", 1.2),
            col("MAESTRO", 1.6),
        ],
        &rows,
    );
}

fn verification(flow: &mut Flow, report: &EvidenceReport) {
    flow.heading(1, "Appendix D. Verification");
    flow.paragraph(
        BODY,
        "This pack states the facts below; each can be checked independently of the application that \
         produced it.",
    );
    let mut rows = vec![
        vec![
            "Snapshot".to_owned(),
            format!("{} taken {}", report.snapshot.id, report.snapshot.taken_at),
        ],
        vec![
            "sha256 of the canonical estate export".to_owned(),
            report.snapshot.estate_sha256.clone(),
        ],
        vec![
            "Audit-chain head".to_owned(),
            report.audit.head_hash.clone(),
        ],
        vec![
            "Audit-log entries at export".to_owned(),
            report.audit.entries.to_string(),
        ],
        vec!["Evaluation time".to_owned(), report.at.clone()],
    ];
    if report.audit.acknowledged_breaks.is_empty() {
        rows.push(vec![
            "Acknowledged breaks of the audit log".to_owned(),
            "none".to_owned(),
        ]);
    }
    for (n, acknowledged) in report.audit.acknowledged_breaks.iter().enumerate() {
        rows.push(vec![
            format!("Acknowledged break {} of the audit log", n + 1),
            acknowledged.clone(),
        ]);
    }
    for s in &report.sidecars {
        rows.push(vec![
            format!("sha256 of {} ({})", s.file_name, s.what),
            s.sha256.clone(),
        ]);
    }
    // Wide enough for a sha256 on one line.
    flow.table(&[col("Fact", 1.0), col("Value", 2.5)], &rows);
    for step in [
        "bridle evidence verify FILE.pdf — exit 0 when the snapshot still rebuilds to the stated hash and the stated head is an entry of an intact audit chain; it also reports whether the inventory changed since (with --current, a change fails too).",
        "sha256sum FILE.pdf.snapshot.json FILE.pdf.findings.json FILE.pdf.flows/* — must print the hashes above; the snapshot file is the canonical estate export, so its hash is also the estate hash.",
    ] {
        flow.paragraph_at(8.0, BODY, &format!("• {step}"));
    }
}
