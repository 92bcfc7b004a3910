//! Tests of the catalogs, the control library and the checks. Catalog tests pin ids, counts and
//! the NIST statements (against a digest taken from the verified reference transcription); check
//! tests are data-driven: an estate fixture in, the rendered findings out (expect-test; rewrite
//! with `UPDATE_EXPECT=1`).

use std::collections::BTreeMap;
use std::fmt::Write;

use expect_test::{Expect, expect};
use sha2::{Digest, Sha256};

use super::*;
use crate::compliance::checks::LISTED_TARGETS;
use crate::estate::{Syntax, parse};
use crate::graph::PrivilegeGraph;
use crate::model::Estate;
use crate::time::{Timestamp, parse_utc};

fn counts(framework: Framework) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for item in &Catalog::get(framework).items {
        *counts.entry(item.kind.clone()).or_default() += 1;
    }
    counts
}

fn ids_of_kind(framework: Framework, kind: &str) -> Vec<String> {
    Catalog::get(framework)
        .items
        .iter()
        .filter(|i| i.kind == kind)
        .map(|i| i.id.clone())
        .collect()
}

#[test]
fn nist_has_4_functions_19_categories_72_subcategories() {
    let counts = counts(Framework::NistAiRmf);
    assert_eq!(counts["function"], 4);
    assert_eq!(counts["category"], 19);
    assert_eq!(counts["subcategory"], 72);
    let catalog = Catalog::get(Framework::NistAiRmf);
    let per_function: Vec<(usize, usize)> = ["GOVERN", "MAP", "MEASURE", "MANAGE"]
        .iter()
        .map(|f| {
            let categories = catalog
                .items
                .iter()
                .filter(|i| i.parent.as_deref() == Some(f))
                .count();
            let subcategories = catalog
                .items
                .iter()
                .filter(|i| i.kind == "subcategory" && catalog.ancestors(&i.id).contains(f))
                .count();
            (categories, subcategories)
        })
        .collect();
    assert_eq!(per_function, [(6, 19), (5, 18), (4, 22), (4, 13)]);
    assert_eq!(catalog.coverage_items(Framework::NistAiRmf).count(), 72);
}

#[test]
fn nist_statements_are_verbatim() {
    // sha256 of "id\ttext\n" for every item in order, computed from the verified reference
    // transcription of NIST AI 100-1 when the catalog was written. A changed character fails.
    let catalog = Catalog::get(Framework::NistAiRmf);
    let mut text = String::new();
    for item in &catalog.items {
        writeln!(text, "{}\t{}", item.id, item.text.as_deref().unwrap()).unwrap();
    }
    assert_eq!(
        hex::encode(Sha256::digest(text.as_bytes())),
        "b3c019173d03343f6cd1096ecf91d32c8b91b9c183ea6115abcb54ab0c38f481"
    );
    let statement = |id: &str| catalog.item(id).unwrap().text.clone().unwrap();
    assert_eq!(
        statement("GOVERN 1.6"),
        "Mechanisms are in place to inventory AI systems and are resourced according to organizational risk priorities."
    );
    assert!(statement("MAP 1.1").contains("context-specific laws"));
    assert!(statement("MEASURE 4.3").contains("context-relevant"));
    assert_eq!(
        statement("MANAGE"),
        "Risks are prioritized and acted upon based on a projected impact."
    );
}

#[test]
fn owasp_catalogs_hold_exactly_their_ten_ids() {
    let asi: Vec<String> = (1..=10).map(|n| format!("ASI{n:02}")).collect();
    assert_eq!(ids_of_kind(Framework::OwaspAsi, "risk"), asi);
    let nhi: Vec<String> = (1..=10).map(|n| format!("NHI{n}")).collect();
    assert_eq!(ids_of_kind(Framework::OwaspNhi, "risk"), nhi);
    let asi03 = Catalog::get(Framework::OwaspAsi).item("ASI03").unwrap();
    assert_eq!(asi03.title, "Identity & Privilege Abuse");
    let nhi7 = Catalog::get(Framework::OwaspNhi).item("NHI7").unwrap();
    assert_eq!(nhi7.title, "Long-Lived Secrets");
    for framework in [Framework::OwaspAsi, Framework::OwaspNhi] {
        for item in &Catalog::get(framework).items {
            assert!(item.text.is_none(), "OWASP text is never reproduced");
            assert!(item.summary.as_deref().is_some_and(|s| s.len() > 40));
            assert!(item.source.contains("owasp.org"), "{}", item.id);
        }
    }
}

#[test]
fn maestro_has_seven_layers_and_labels_its_local_threat_ids() {
    assert_eq!(
        ids_of_kind(Framework::Maestro, "layer"),
        ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]
    );
    let catalog = Catalog::get(Framework::Maestro);
    let per_parent: Vec<usize> = ["L1", "L2", "L3", "L4", "L5", "L6", "L7", "XL"]
        .iter()
        .map(|p| {
            catalog
                .items
                .iter()
                .filter(|i| i.kind == "threat" && i.parent.as_deref() == Some(p))
                .count()
        })
        .collect();
    assert_eq!(per_parent, [7, 5, 6, 6, 6, 7, 13, 5]);
    for item in &catalog.items {
        assert_eq!(item.local_id, item.kind != "layer", "{}", item.id);
        if item.local_id {
            assert!(item.source.contains("local to Bridle"), "{}", item.id);
        }
    }
    assert!(catalog.id_note.as_deref().unwrap().contains("LOCAL"));
}

#[test]
fn catalog_validation_rejects_drift() {
    let text = include_str!("../../../../frameworks/owasp-nhi-top10-2025.json");
    let dropped = text.replace("{\"id\": \"NHI10\"", "{\"id\": \"NHI9\"");
    let error = Catalog::parse(Framework::OwaspNhi, &dropped).unwrap_err();
    expect![[r#"frameworks/owasp-nhi-top10-2025.json: item `NHI9` appears twice"#]]
        .assert_eq(&error.to_string());
}

#[test]
fn control_library_covers_the_stack_and_every_check() {
    let library = ControlLibrary::get();
    assert!(library.controls.len() >= 12);
    for check in CHECKS {
        assert!(
            !library.controls_of_check(check.id).is_empty(),
            "check {} belongs to no control",
            check.id
        );
    }
    // A control maps only to what it addresses (it may skip a framework), but every control
    // bears on NIST AI RMF, which the evidence pack is organised by.
    assert_eq!(library.controls.len(), 14);
    for control in &library.controls {
        assert!(
            control.mappings_to(Framework::NistAiRmf).next().is_some(),
            "{} maps to nothing in NIST AI RMF",
            control.id
        );
        for mapping in &control.mappings {
            assert!(
                mapping.rationale.len() > 30 && mapping.rationale.ends_with('.'),
                "{} → {}: a sentence of rationale",
                control.id,
                mapping.item
            );
        }
    }
    assert!(CHECKS.len() >= 15);
}

/// Every mapping with its rationale: a changed crosswalk is a reviewed diff of this snapshot.
#[test]
fn crosswalk_rationales() {
    let mut out = String::new();
    for control in &ControlLibrary::get().controls {
        writeln!(out, "{} {}", control.id, control.title).unwrap();
        for m in &control.mappings {
            writeln!(out, "  {} {}: {}", m.framework, m.item, m.rationale).unwrap();
        }
    }
    expect![[r#"
        C01 Workload identity for every agent
          nist-ai-rmf GOVERN 1.6: An inventory of AI systems is only complete when each agent is tied to the identity it acts as.
          nist-ai-rmf MEASURE 2.8: Accountability needs every action attributable to one agent's own identity.
          owasp-asi ASI03: An agent acting under a borrowed or human identity inherits privileges that were never scoped to it.
          owasp-asi ASI07: Authenticating messages between agents presupposes that each agent has an identity of its own.
          owasp-nhi NHI9: Agents without their own identity end up borrowing someone else's.
          owasp-nhi NHI4: Agents prove a workload identity (an attested SVID or a federated token) instead of a shared static password or API key.
          maestro L7-T03: A distinct workload identity is the thing agent identity attacks target and that authorisation relies on.
          maestro L7-T02: Impersonating an agent is harder when each agent proves its own workload identity.
          maestro L7-T10: A tampered registry entry still has to present the workload identity the inventory binds to that agent.
          maestro L7-T11: An agent surfaced by manipulated discovery cannot authenticate as one it is not.
        C02 Ephemeral credentials with tight TTLs
          nist-ai-rmf MEASURE 2.7: Credential lifetime is a measurable part of an AI system's security and resilience.
          nist-ai-rmf MANAGE 1.3: Short lifetimes are a planned response that limits how long a leaked credential stays useful.
          owasp-asi ASI03: Cached, long-valid credentials are what an abused agent identity keeps using.
          owasp-nhi NHI7: The control is the direct answer to long-lived secrets.
          owasp-nhi NHI2: A leaked secret that expires within hours does limited harm.
          owasp-nhi NHI6: Static cloud keys in deployment pipelines are replaced by short-lived, federated tokens.
          owasp-nhi NHI4: Short-lived tokens issued by a broker replace the long-valid static credentials weak authentication relies on.
          maestro L7-T03: Stolen agent credentials lose their value quickly.
          maestro L4-T06: Short-lived credentials shorten the window for moving on from a foothold.
        C03 Policy-as-code evaluated at request time
          nist-ai-rmf GOVERN 1.4: Versioned policy is a transparent control established from organisational risk priorities.
          nist-ai-rmf MAP 4.2: Request-time policy is an internal risk control for the components an agent calls.
          owasp-asi ASI02: Context-aware authorisation stops allowed tools being used for disallowed purposes.
          owasp-asi ASI01: A hijacked goal still has to pass policy for every action it attempts.
          owasp-nhi NHI5: Fine-grained, per-request decisions replace broad standing permissions.
          maestro L7-T04: Tool calls are checked against policy before they run.
        C04 Tool-level authorisation
          nist-ai-rmf MAP 4.2: Per-tool identities are internal risk controls documented for each component.
          nist-ai-rmf MEASURE 2.7: Separating tool privileges is part of evaluating the system's security.
          nist-ai-rmf GOVERN 6.1: Third-party tools and MCP servers act under identities of their own with grants scoped to them: the access side of third-party risk policy.
          nist-ai-rmf MANAGE 3.1: Each third-party tool's identity and reach are inventoried and checked on every run, so its access is monitored and controlled.
          owasp-asi ASI02: Scoped tool identities limit what a misused tool can touch.
          owasp-asi ASI04: A compromised third-party tool or MCP server holds only its own narrow access.
          owasp-nhi NHI3: Third-party tool integrations get their own revocable identity.
          owasp-nhi NHI5: A tool acting on restricted data with borrowed rights is overprivileged by construction.
          maestro L7-T04: Tool misuse is contained by the tool's own limited rights.
          maestro L7-T07: Integrations between agents and applications authenticate as themselves.
          maestro XL-T01: A compromised tool or MCP server holds only its own narrow identity, so the compromise does not carry into other layers.
        C05 Continuous logging and revocation
          nist-ai-rmf MEASURE 2.4: Production behaviour of agents and their access is monitored.
          nist-ai-rmf MANAGE 2.4: Revocation is the mechanism to disengage an agent that behaves unexpectedly.
          nist-ai-rmf MANAGE 4.1: Post-deployment monitoring needs to know where every grant came from.
          nist-ai-rmf GOVERN 4.3: Grant provenance and the audit trail are what lets an access incident be identified and traced.
          nist-ai-rmf GOVERN 6.2: Revoking a third-party tool's own identity is the contingency when that tool fails or is compromised.
          nist-ai-rmf MANAGE 4.3: Revocation is how an access incident is responded to and recovered from; the audit trail records it.
          owasp-asi ASI08: Fast revocation stops a failure cascading through agents and tools.
          owasp-asi ASI10: A rogue agent is detected in the logs and cut off by revocation.
          owasp-nhi NHI1: Knowing where access came from is what makes offboarding possible.
          maestro L5-T04: Complete, attributable logs make evading detection harder.
          maestro L7-T09: Recorded provenance ties actions and access to their origin.
        C06 Lifecycle: ownership, rotation and offboarding
          nist-ai-rmf GOVERN 2.1: Named owners are the documented roles and responsibilities for each agent.
          nist-ai-rmf GOVERN 1.7: Retiring unused credentials and expired access is part of phasing systems out safely.
          nist-ai-rmf GOVERN 1.6: An inventory with owners and credential ages is resourced and maintained.
          owasp-asi ASI03: Stale authorisations and forgotten credentials are what identity abuse exploits.
          owasp-nhi NHI1: Owner-less, unused or expired identities and credentials are improper offboarding.
          owasp-nhi NHI7: Rotation limits bound the life of every secret.
          maestro L7-T03: Unrotated, forgotten agent credentials invite identity attacks.
        C07 Approval before any staging or data collection
          nist-ai-rmf MAP 3.5: Human oversight is only effective when it precedes the access it oversees.
          nist-ai-rmf GOVERN 3.2: Roles in the human-AI configuration include who approves access and when.
          owasp-asi ASI09: An approval that comes after data was already collected is trust without control.
          owasp-asi ASI02: Tools that can stage actions before approval can be misused before anyone looks.
          maestro L2-T02: Data collected before approval is data that can be exfiltrated.
          maestro L7-T05: A manipulated goal cannot act on data until a person approves.
        C08 No standing access for autonomous agents
          nist-ai-rmf MANAGE 1.3: Just-in-time access is a documented response to high-priority agent risks.
          nist-ai-rmf MEASURE 2.6: Bounding what an autonomous agent can do at any moment is part of demonstrating it is safe.
          owasp-asi ASI03: Standing privilege is what identity and privilege abuse inherits.
          owasp-asi ASI10: A rogue autonomous agent without standing access has little to act with.
          owasp-nhi NHI5: Standing access for a task-scoped agent is overprivilege over time.
          owasp-nhi NHI7: A just-in-time grant without expiry becomes long-lived access.
          maestro XL-T03: Standing privilege in one layer is the starting point for escalation into others.
          maestro L7-T01: A compromised autonomous agent finds no standing access to use.
        C09 No shared or reused identities across agents
          nist-ai-rmf MEASURE 2.8: Shared identities make agent actions impossible to attribute.
          nist-ai-rmf GOVERN 1.6: The inventory must map one identity to one agent to be meaningful.
          owasp-asi ASI03: A shared identity carries the union of every user's privileges.
          owasp-asi ASI07: Agents sharing an identity cannot authenticate each other.
          owasp-nhi NHI9: The control is the direct answer to NHI reuse.
          owasp-nhi NHI8: An identity shared by agents in different environments breaks isolation.
          maestro L7-T02: Shared identities let one agent pass for another.
          maestro L7-T09: Actions under a shared identity can be repudiated.
        C10 No human use of non-human identities
          nist-ai-rmf GOVERN 3.2: Human and AI roles are defined and kept apart.
          nist-ai-rmf MEASURE 2.8: Audit trails must tell human from automated activity.
          owasp-asi ASI03: Crossing between human and agent identities is a privilege abuse path.
          owasp-asi ASI09: An agent acting as a person exploits the trust others place in that person.
          owasp-nhi NHI10: The control is the direct answer to human use of NHIs.
          maestro L7-T02: Impersonation between agents and people is blocked by construction.
          maestro L7-T09: Actions stay attributable to a person or an agent, not both.
        C11 Environment isolation
          nist-ai-rmf MEASURE 2.7: Isolation between environments is part of the system's security and resilience.
          nist-ai-rmf MAP 4.2: Environment boundaries are internal risk controls for the components an agent touches.
          owasp-asi ASI08: A fault in a lower environment must not cascade into production.
          owasp-nhi NHI8: The control is the direct answer to missing environment isolation.
          maestro L4-T06: Crossing environments is lateral movement in the infrastructure.
          maestro XL-T02: An environment boundary stops a breach moving across.
        C12 Secrets never in code, tickets or chat
          nist-ai-rmf MEASURE 2.7: Where secrets are kept is a basic security property of the system.
          nist-ai-rmf MEASURE 2.10: Secrets spread through shared channels expose the data they unlock.
          owasp-asi ASI03: Secrets lying in code or chat are credentials any agent reading them can reuse.
          owasp-nhi NHI2: The control is the direct answer to secret leakage.
          maestro XL-T04: A secret in one layer's artefacts leaks access across layers.
          maestro L5-T05: Secrets must not surface in logs, traces or dashboards.
        C13 Least-privilege paths to crown jewels
          nist-ai-rmf MAP 5.1: Paths to crown jewels measure the likelihood and magnitude of the worst impacts.
          nist-ai-rmf MANAGE 1.2: Treatment is prioritised by the paths that lead to the most valuable resources.
          nist-ai-rmf MEASURE 2.7: Attack paths are a direct evaluation of security.
          owasp-asi ASI03: Chained identities and credentials are privilege escalation paths.
          owasp-asi ASI02: A misused tool is worst when it leads to a crown jewel.
          owasp-nhi NHI5: Reach beyond the task is overprivilege, measured on the graph.
          maestro XL-T03: A secret store exposing a stronger identity's credentials is privilege escalation.
          maestro L2-T02: Crown-jewel data is what exfiltration aims at.
          maestro L4-T06: Multi-hop paths are lateral movement routes.
        C14 Risk register with reviewed, expiring acceptances
          nist-ai-rmf MANAGE 1.2: Treatment is prioritised on impact and likelihood in the register.
          nist-ai-rmf MANAGE 1.4: Accepted (residual) risks are documented with their owner and expiry.
          nist-ai-rmf MEASURE 3.1: The register tracks identified risks over time.
          nist-ai-rmf GOVERN 1.5: Expiring acceptances force periodic review.
    "#]].assert_eq(&out);
}

/// Every OWASP and MAESTRO id with its parent and title, as published (MAESTRO threat ids are
/// Bridle's own; titles are CSA's).
#[test]
fn owasp_and_maestro_titles_and_parents() {
    let mut out = String::new();
    for framework in [Framework::OwaspAsi, Framework::OwaspNhi, Framework::Maestro] {
        for item in &Catalog::get(framework).items {
            writeln!(
                out,
                "{} {} [{}] {}",
                item.id,
                item.kind,
                item.parent.as_deref().unwrap_or("-"),
                item.title
            )
            .unwrap();
        }
    }
    expect![[r#"
        ASI01 risk [-] Agent Goal Hijack
        ASI02 risk [-] Tool Misuse & Exploitation
        ASI03 risk [-] Identity & Privilege Abuse
        ASI04 risk [-] Agentic Supply Chain Vulnerabilities
        ASI05 risk [-] Unexpected Code Execution (RCE)
        ASI06 risk [-] Memory & Context Poisoning
        ASI07 risk [-] Insecure Inter-Agent Communication
        ASI08 risk [-] Cascading Failures
        ASI09 risk [-] Human-Agent Trust Exploitation
        ASI10 risk [-] Rogue Agents
        NHI1 risk [-] Improper Offboarding
        NHI2 risk [-] Secret Leakage
        NHI3 risk [-] Vulnerable Third-Party NHI
        NHI4 risk [-] Insecure Authentication
        NHI5 risk [-] Overprivileged NHI
        NHI6 risk [-] Insecure Cloud Deployment Configurations
        NHI7 risk [-] Long-Lived Secrets
        NHI8 risk [-] Environment Isolation
        NHI9 risk [-] NHI Reuse
        NHI10 risk [-] Human Use of NHI
        L1 layer [-] Foundation Models
        L1-T01 threat [L1] Adversarial Examples
        L1-T02 threat [L1] Model Stealing
        L1-T03 threat [L1] Backdoor Attacks
        L1-T04 threat [L1] Membership Inference Attacks
        L1-T05 threat [L1] Data Poisoning (Training Phase)
        L1-T06 threat [L1] Reprogramming Attacks
        L1-T07 threat [L1] Denial of Service (DoS) Attacks
        L2 layer [-] Data Operations
        L2-T01 threat [L2] Data Poisoning
        L2-T02 threat [L2] Data Exfiltration
        L2-T03 threat [L2] Denial of Service on Data Infrastructure
        L2-T04 threat [L2] Data Tampering
        L2-T05 threat [L2] Compromised RAG Pipelines
        L3 layer [-] Agent Frameworks
        L3-T01 threat [L3] Compromised Framework Components
        L3-T02 threat [L3] Backdoor Attacks
        L3-T03 threat [L3] Input Validation Attacks
        L3-T04 threat [L3] Supply Chain Attacks
        L3-T05 threat [L3] Denial of Service on Framework APIs
        L3-T06 threat [L3] Framework Evasion
        L4 layer [-] Deployment and Infrastructure
        L4-T01 threat [L4] Compromised Container Images
        L4-T02 threat [L4] Orchestration Attacks
        L4-T03 threat [L4] Infrastructure-as-Code (IaC) Manipulation
        L4-T04 threat [L4] Denial of Service (DoS) Attacks
        L4-T05 threat [L4] Resource Hijacking
        L4-T06 threat [L4] Lateral Movement
        L5 layer [-] Evaluation and Observability
        L5-T01 threat [L5] Manipulation of Evaluation Metrics
        L5-T02 threat [L5] Compromised Observability Tools
        L5-T03 threat [L5] Denial of Service on Evaluation Infrastructure
        L5-T04 threat [L5] Evasion of Detection
        L5-T05 threat [L5] Data Leakage through Observability
        L5-T06 threat [L5] Poisoning Observability Data
        L6 layer [-] Security and Compliance
        L6-T01 threat [L6] Security Agent Data Poisoning
        L6-T02 threat [L6] Evasion of Security AI Agents
        L6-T03 threat [L6] Compromised Security AI Agents
        L6-T04 threat [L6] Regulatory Non-Compliance by AI Security Agents
        L6-T05 threat [L6] Bias in Security AI Agents
        L6-T06 threat [L6] Lack of Explainability in Security AI Agents
        L6-T07 threat [L6] Model Extraction of AI Security Agents
        L7 layer [-] Agent Ecosystem
        L7-T01 threat [L7] Compromised Agents
        L7-T02 threat [L7] Agent Impersonation
        L7-T03 threat [L7] Agent Identity Attack
        L7-T04 threat [L7] Agent Tool Misuse
        L7-T05 threat [L7] Agent Goal Manipulation
        L7-T06 threat [L7] Marketplace Manipulation
        L7-T07 threat [L7] Integration Risks
        L7-T08 threat [L7] Horizontal/Vertical Solution Vulnerabilities
        L7-T09 threat [L7] Repudiation
        L7-T10 threat [L7] Compromised Agent Registry
        L7-T11 threat [L7] Malicious Agent Discovery
        L7-T12 threat [L7] Agent Pricing Model Manipulation
        L7-T13 threat [L7] Inaccurate Agent Capability Description
        XL group [-] Cross-Layer Threats
        XL-T01 threat [XL] Supply Chain Attacks
        XL-T02 threat [XL] Lateral Movement
        XL-T03 threat [XL] Privilege Escalation
        XL-T04 threat [XL] Data Leakage
        XL-T05 threat [XL] Goal Misalignment Cascades
    "#]]
    .assert_eq(&out);
}

#[test]
fn crosswalk_matrix() {
    let library = ControlLibrary::get();
    let mut out = String::new();
    for control in &library.controls {
        write!(out, "{} {:<9}", control.id, control.assessment()).unwrap();
        for framework in Framework::ALL {
            let items: Vec<&str> = control
                .mappings_to(framework)
                .map(|m| m.item.as_str())
                .collect();
            write!(out, " | {}", items.join(",")).unwrap();
        }
        out.push('\n');
    }
    expect![[r#"
        C01 automated | GOVERN 1.6,MEASURE 2.8 | ASI03,ASI07 | NHI9,NHI4 | L7-T03,L7-T02,L7-T10,L7-T11
        C02 automated | MEASURE 2.7,MANAGE 1.3 | ASI03 | NHI7,NHI2,NHI6,NHI4 | L7-T03,L4-T06
        C03 manual    | GOVERN 1.4,MAP 4.2 | ASI02,ASI01 | NHI5 | L7-T04
        C04 automated | MAP 4.2,MEASURE 2.7,GOVERN 6.1,MANAGE 3.1 | ASI02,ASI04 | NHI3,NHI5 | L7-T04,L7-T07,XL-T01
        C05 automated | MEASURE 2.4,MANAGE 2.4,MANAGE 4.1,GOVERN 4.3,GOVERN 6.2,MANAGE 4.3 | ASI08,ASI10 | NHI1 | L5-T04,L7-T09
        C06 automated | GOVERN 2.1,GOVERN 1.7,GOVERN 1.6 | ASI03 | NHI1,NHI7 | L7-T03
        C07 automated | MAP 3.5,GOVERN 3.2 | ASI09,ASI02 |  | L2-T02,L7-T05
        C08 automated | MANAGE 1.3,MEASURE 2.6 | ASI03,ASI10 | NHI5,NHI7 | XL-T03,L7-T01
        C09 automated | MEASURE 2.8,GOVERN 1.6 | ASI03,ASI07 | NHI9,NHI8 | L7-T02,L7-T09
        C10 automated | GOVERN 3.2,MEASURE 2.8 | ASI03,ASI09 | NHI10 | L7-T02,L7-T09
        C11 automated | MEASURE 2.7,MAP 4.2 | ASI08 | NHI8 | L4-T06,XL-T02
        C12 automated | MEASURE 2.7,MEASURE 2.10 | ASI03 | NHI2 | XL-T04,L5-T05
        C13 automated | MAP 5.1,MANAGE 1.2,MEASURE 2.7 | ASI03,ASI02 | NHI5 | XL-T03,L2-T02,L4-T06
        C14 manual    | MANAGE 1.2,MANAGE 1.4,MEASURE 3.1,GOVERN 1.5 |  |  | 
    "#]]
    .assert_eq(&out);
}

// ---- checks ----

fn at() -> Timestamp {
    parse_utc("2026-11-28T12:00:00Z").unwrap()
}

fn load(path: &str) -> Estate {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let parsed = parse(&bytes, Syntax::Json);
    let errors: Vec<String> = parsed.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{path}: {errors:#?}");
    parsed.estate.unwrap()
}

/// Renders findings one per line (`--all`: passes too), evidence indented.
fn render(estate: &Estate, all: bool) -> String {
    let graph = PrivilegeGraph::build(estate, at());
    let findings = evaluate(estate, &graph, at(), &Limits::default());
    let mut out = String::new();
    let mut totals = BTreeMap::new();
    for f in &findings {
        *totals.entry(f.status.as_str()).or_insert(0) += 1;
        if f.status == Status::Pass && !all {
            continue;
        }
        writeln!(out, "{} {} {}: {}", f.status, f.severity, f.id, f.summary).unwrap();
        for line in &f.evidence {
            writeln!(out, "    {line}").unwrap();
        }
    }
    writeln!(out, "totals {totals:?}").unwrap();
    out
}

fn check(name: &str, all: bool, expected: Expect) {
    let path = format!(
        "{}/src/compliance/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    expected.assert_eq(&render(&load(&path), all));
}

#[test]
fn clean_estate_passes_every_check() {
    check(
        "clean.json",
        true,
        expect![[r#"
            pass medium agent-owner@agent:reporter: owned by ops-lead@clean.example
                owner: ops-lead@clean.example
            pass medium agent-owner@agent:triage: owned by support-lead@clean.example
                owner: support-lead@clean.example
            pass high agent-workload-identity@agent:reporter: runs as spiffe://clean.example/agents/reporter
                own workload identity: spiffe://clean.example/agents/reporter (spiffe)
            pass high agent-workload-identity@agent:triage: runs as spiffe://clean.example/agents/triage
                own workload identity: spiffe://clean.example/agents/triage (spiffe)
            pass high identity-not-shared@spiffe://clean.example/agents/reporter: used by agent:reporter only
                runs_as of agent:reporter (prod)
            pass high identity-not-shared@spiffe://clean.example/agents/triage: used by agent:triage only
                runs_as of agent:triage (prod)
            pass medium identity-owner@spiffe://clean.example/agents/reporter: owned by ops-lead@clean.example
                owner: ops-lead@clean.example
            pass medium identity-owner@spiffe://clean.example/agents/triage: owned by support-lead@clean.example
                owner: support-lead@clean.example
            pass medium identity-owner@spiffe://clean.example/tools/kb-search: owned by platform@clean.example
                owner: platform@clean.example
            pass high human-use-of-nhi@spiffe://clean.example/agents/reporter: no person may act as it
                runs_as of agent:reporter
            pass high human-use-of-nhi@spiffe://clean.example/agents/triage: no person may act as it
                runs_as of agent:triage
            pass high agent-impersonates-human@agent:reporter: reaches no human identity
            pass high agent-impersonates-human@agent:triage: reaches no human identity
            pass high credential-short-lived@cred:svid-kb-search: valid for 12 hours
                issued 2026-11-28T05:00:00Z, expires 2026-11-28T17:00:00Z: valid 12 hours
            pass high credential-short-lived@cred:svid-reporter: valid for 12 hours
                issued 2026-11-28T07:00:00Z, expires 2026-11-28T19:00:00Z: valid 12 hours
            pass high credential-short-lived@cred:svid-triage: valid for 12 hours
                issued 2026-11-28T06:00:00Z, expires 2026-11-28T18:00:00Z: valid 12 hours
            pass medium credential-rotation@cred:svid-kb-search: 0 days old
                last rotated 2026-11-28T05:00:00Z (0 days before 2026-11-28T12:00:00Z), limit 90 days
            pass medium credential-rotation@cred:svid-reporter: 0 days old
                last rotated 2026-11-28T07:00:00Z (0 days before 2026-11-28T12:00:00Z), limit 90 days
            pass medium credential-rotation@cred:svid-triage: 0 days old
                last rotated 2026-11-28T06:00:00Z (0 days before 2026-11-28T12:00:00Z), limit 90 days
            pass low credential-unused@cred:svid-kb-search: used 0 days ago
                last used 2026-11-28T11:30:00Z (0 days before 2026-11-28T12:00:00Z), limit 90 days
            pass low credential-unused@cred:svid-reporter: used 0 days ago
                last used 2026-11-28T10:40:00Z (0 days before 2026-11-28T12:00:00Z), limit 90 days
            pass low credential-unused@cred:svid-triage: used 0 days ago
                last used 2026-11-28T11:02:00Z (0 days before 2026-11-28T12:00:00Z), limit 90 days
            pass critical credential-crown-jewel-admin@cred:svid-kb-search: no admin grant on a crown jewel
                x509_svid of spiffe://clean.example/tools/kb-search
            pass critical credential-crown-jewel-admin@cred:svid-reporter: no admin grant on a crown jewel
                x509_svid of spiffe://clean.example/agents/reporter
            pass critical credential-crown-jewel-admin@cred:svid-triage: no admin grant on a crown jewel
                x509_svid of spiffe://clean.example/agents/triage
            pass high autonomous-standing-access@agent:triage: no standing grant
            pass medium jit-grant-expiry@g-1: expires 2026-11-28T18:00:00Z
                grant g-1: spiffe://clean.example/agents/triage -> tool:kb-search [invoke], just in time, expires 2026-11-28T18:00:00Z
            pass medium jit-grant-expiry@g-2: expires 2026-11-28T18:00:00Z
                grant g-2: spiffe://clean.example/agents/triage -> res:tickets [read], just in time, expires 2026-11-28T18:00:00Z
            pass medium jit-grant-expiry@g-3: expires 2026-11-29T00:00:00Z
                grant g-3: spiffe://clean.example/agents/reporter -> res:tickets [read], just in time, expires 2026-11-29T00:00:00Z
            pass medium approval-gated-data-access@agent:reporter: supervised agent holds no standing data access
            pass high crown-jewel-reach@agent:reporter: reaches no crown jewel
                reaches 1 resource(s), none a crown jewel
            pass high crown-jewel-reach@agent:triage: reaches no crown jewel
                reaches 2 resource(s), none a crown jewel
            pass high secret-store-exposure@agent:reporter: no reachable secret store exposes a stronger identity
                reads 0 secret store(s)
            pass high secret-store-exposure@agent:triage: no reachable secret store exposes a stronger identity
                reads 0 secret store(s)
            pass high environment-isolation@agent:reporter: reaches only prod resources
                1 resource(s) reached, all prod
            pass high environment-isolation@agent:triage: reaches only prod resources
                2 resource(s) reached, all prod
            pass high tool-own-identity@tool:kb-search: runs as spiffe://clean.example/tools/kb-search
                runs_as: spiffe://clean.example/tools/kb-search
            pass low grant-provenance@g-1: from mcp:support
                source: mcp:support
            pass low grant-provenance@g-2: from policy:triage
                source: policy:triage
            pass low grant-provenance@g-3: from policy:reporter
                source: policy:reporter
            pass low grant-expired-on-record@g-1: not expired
                grant g-1: spiffe://clean.example/agents/triage -> tool:kb-search [invoke], just in time, expires 2026-11-28T18:00:00Z
            pass low grant-expired-on-record@g-2: not expired
                grant g-2: spiffe://clean.example/agents/triage -> res:tickets [read], just in time, expires 2026-11-28T18:00:00Z
            pass low grant-expired-on-record@g-3: not expired
                grant g-3: spiffe://clean.example/agents/reporter -> res:tickets [read], just in time, expires 2026-11-29T00:00:00Z
            totals {"pass": 43}
        "#]],
    );
}

#[test]
fn missing_data_is_unknown_never_pass() {
    check(
        "unknowns.json",
        true,
        expect![[r#"
            pass medium agent-owner@agent:nowhere: owned by a@x.example
                owner: a@x.example
            pass medium agent-owner@agent:prod-reader: owned by a@x.example
                owner: a@x.example
            pass high agent-workload-identity@agent:nowhere: runs as spiffe://x.example/nowhere
                own workload identity: spiffe://x.example/nowhere (spiffe)
            pass high agent-workload-identity@agent:prod-reader: runs as spiffe://x.example/prod-reader
                own workload identity: spiffe://x.example/prod-reader (spiffe)
            pass high identity-not-shared@spiffe://x.example/nowhere: used by agent:nowhere only
                runs_as of agent:nowhere (environment unknown)
            pass high identity-not-shared@spiffe://x.example/prod-reader: used by agent:prod-reader only
                runs_as of agent:prod-reader (prod)
            pass medium identity-owner@spiffe://x.example/nowhere: owned by a@x.example
                owner: a@x.example
            pass medium identity-owner@spiffe://x.example/prod-reader: owned by a@x.example
                owner: a@x.example
            pass high human-use-of-nhi@spiffe://x.example/nowhere: no person may act as it
                runs_as of agent:nowhere
            pass high human-use-of-nhi@spiffe://x.example/prod-reader: no person may act as it
                runs_as of agent:prod-reader
            pass high agent-impersonates-human@agent:nowhere: reaches no human identity
            pass high agent-impersonates-human@agent:prod-reader: reaches no human identity
            unknown high credential-short-lived@cred:undated: validity unknown: issue time not recorded
                expires 2026-11-29T00:00:00Z, issued_at null
            unknown medium credential-rotation@cred:undated: age unknown: neither issue nor rotation time recorded
                issued_at null, last_rotated null
            unknown low credential-unused@cred:undated: last use unknown
                last_used null, issued_at null
            pass critical credential-crown-jewel-admin@cred:undated: no admin grant on a crown jewel
                token of spiffe://x.example/prod-reader
            pass medium jit-grant-expiry@g-1: expires 2026-11-29T00:00:00Z
                grant g-1: spiffe://x.example/nowhere -> res:prod-db [read], just in time, expires 2026-11-29T00:00:00Z
            pass medium jit-grant-expiry@g-2: expires 2026-11-29T00:00:00Z
                grant g-2: spiffe://x.example/prod-reader -> res:unlabelled [read], just in time, expires 2026-11-29T00:00:00Z
            pass medium jit-grant-expiry@g-3: expires 2026-11-29T00:00:00Z
                grant g-3: spiffe://x.example/prod-reader -> res:prod-db [read], just in time, expires 2026-11-29T00:00:00Z
            pass medium approval-gated-data-access@agent:nowhere: supervised agent holds no standing data access
            pass medium approval-gated-data-access@agent:prod-reader: supervised agent holds no standing data access
            pass high crown-jewel-reach@agent:nowhere: reaches no crown jewel
                reaches 1 resource(s), none a crown jewel
            pass high crown-jewel-reach@agent:prod-reader: reaches no crown jewel
                reaches 2 resource(s), none a crown jewel
            pass high secret-store-exposure@agent:nowhere: no reachable secret store exposes a stronger identity
                reads 0 secret store(s)
            pass high secret-store-exposure@agent:prod-reader: no reachable secret store exposes a stronger identity
                reads 0 secret store(s)
            unknown high environment-isolation@agent:nowhere: agent environment unknown
                environment: null; reaches 1 resource(s)
            unknown high environment-isolation@agent:prod-reader: 1 reached resource(s) have no environment
                environment unknown for 1 reached resource(s): res:unlabelled
            pass low grant-provenance@g-1: from policy:a
                source: policy:a
            pass low grant-provenance@g-2: from policy:b
                source: policy:b
            pass low grant-provenance@g-3: from policy:b
                source: policy:b
            pass low grant-expired-on-record@g-1: not expired
                grant g-1: spiffe://x.example/nowhere -> res:prod-db [read], just in time, expires 2026-11-29T00:00:00Z
            pass low grant-expired-on-record@g-2: not expired
                grant g-2: spiffe://x.example/prod-reader -> res:unlabelled [read], just in time, expires 2026-11-29T00:00:00Z
            pass low grant-expired-on-record@g-3: not expired
                grant g-3: spiffe://x.example/prod-reader -> res:prod-db [read], just in time, expires 2026-11-29T00:00:00Z
            totals {"pass": 28, "unknown": 5}
        "#]],
    );
}

#[test]
fn demo_estate_findings() {
    let path = format!(
        "{}/../../assets/demo/estate.json",
        env!("CARGO_MANIFEST_DIR")
    );
    expect![[r#"
        fail medium agent-owner@agent:legal-review: agent has no owner
            owner: null (unknown or orphaned)
        fail medium agent-owner@agent:sales-outreach: agent has no owner
            owner: null (unknown or orphaned)
        fail high agent-workload-identity@agent:hr-onboarding: runs as human:jonas.mueller, a human identity
            runs as human:jonas.mueller, a human identity
        fail high agent-workload-identity@agent:marketing-copy: agent has no identity of its own
            runs_as: [] (it acts only through grants made to the agent itself)
        fail high agent-workload-identity@agent:sales-forecaster: apikey:crm-integration is shared with agent:sales-outreach
            apikey:crm-integration is shared with agent:sales-outreach
        fail high agent-workload-identity@agent:sales-outreach: apikey:crm-integration is shared with agent:sales-forecaster
            apikey:crm-integration is shared with agent:sales-forecaster
        fail high identity-not-shared@apikey:crm-integration: identity shared by 2 agents
            2 agents run as it: agent:sales-forecaster (staging), agent:sales-outreach (prod)
            the agents run in different environments
        fail medium identity-owner@svc:legacy-sftp: identity has no owner
            service_account identity with owner: null
        fail medium identity-owner@vault:approle/legal-review: identity has no owner
            vault_role identity with owner: null
        fail high human-use-of-nhi@svc:shared-ops: a person may act as this agent identity
            runs_as of agent:oncall-sre
            human:ingrid.halvorsen may impersonate it (grant g-039)
        fail high agent-impersonates-human@agent:exec-briefing: can act as 1 person(s)
            reaches human:zoe.lambert in 2 hop(s): agent:exec-briefing > spiffe://northwind.example/agents/exec-briefing > human:zoe.lambert
        fail high credential-short-lived@cred:aws-deploy-access-key: credential never expires
            api_key of arn:aws:iam::123456789012:role/prod-deployer: expires_at null
        fail high credential-short-lived@cred:crm-api-key: credential never expires
            api_key of apikey:crm-integration: expires_at null
        fail high credential-short-lived@cred:customer-db-password: credential never expires
            password of svc:customer-db-admin: expires_at null
        fail high credential-short-lived@cred:deploy-ssh-key: credential never expires
            ssh_key of svc:deploy-bot: expires_at null
        fail high credential-short-lived@cred:helpdesk-oauth-secret: credential never expires
            oauth_client_secret of oidc:helpdesk-integration: expires_at null
        fail high credential-short-lived@cred:jonas-ssh-key: credential never expires
            ssh_key of human:jonas.mueller: expires_at null
        fail high credential-short-lived@cred:ledger-db-password: credential never expires
            password of svc:ledger-writer: expires_at null
        fail high credential-short-lived@cred:payments-restricted-key: credential never expires
            api_key of apikey:payments-recon: expires_at null
        fail high credential-short-lived@cred:research-oidc-secret: credential never expires
            oauth_client_secret of oidc:research-assistant: expires_at null
        fail medium credential-short-lived@cred:social-api-key: valid for 182 days (limit 90 days)
            issued 2026-10-01T10:00:00Z, expires 2027-04-01T10:00:00Z: valid 182 days
        fail medium credential-short-lived@cred:warehouse-reader-keytab: valid for 365 days (limit 90 days)
            issued 2026-02-01T00:00:00Z, expires 2027-02-01T00:00:00Z: valid 365 days
        fail medium credential-rotation@cred:aws-deploy-access-key: not rotated for 862 days
            last rotated 2024-07-19T10:15:00Z (862 days before 2026-11-28T12:00:00Z), limit 90 days
        fail medium credential-rotation@cred:crm-api-key: not rotated for 624 days
            last rotated 2025-03-14T11:00:00Z (624 days before 2026-11-28T12:00:00Z), limit 90 days
        fail medium credential-rotation@cred:customer-db-password: not rotated for 545 days
            issued (never rotated) 2025-06-01T12:00:00Z (545 days before 2026-11-28T12:00:00Z), limit 90 days
        fail medium credential-rotation@cred:deploy-ssh-key: not rotated for 1299 days
            last rotated 2023-05-08T14:00:00Z (1299 days before 2026-11-28T12:00:00Z), limit 90 days
        fail medium credential-rotation@cred:helpdesk-oauth-secret: not rotated for 465 days
            last rotated 2025-08-20T09:00:00Z (465 days before 2026-11-28T12:00:00Z), limit 90 days
        unknown medium credential-rotation@cred:jonas-ssh-key: age unknown: neither issue nor rotation time recorded
            issued_at null, last_rotated null
        fail medium credential-rotation@cred:ledger-db-password: not rotated for 655 days
            last rotated 2025-02-10T16:45:00Z (655 days before 2026-11-28T12:00:00Z), limit 90 days
        fail medium credential-rotation@cred:payments-restricted-key: not rotated for 453 days
            issued (never rotated) 2025-09-01T08:00:00Z (453 days before 2026-11-28T12:00:00Z), limit 90 days
        fail medium credential-rotation@cred:research-oidc-secret: not rotated for 421 days
            last rotated 2025-10-02T13:20:00Z (421 days before 2026-11-28T12:00:00Z), limit 90 days
        fail medium credential-rotation@cred:warehouse-reader-keytab: not rotated for 300 days
            last rotated 2026-02-01T00:00:00Z (300 days before 2026-11-28T12:00:00Z), limit 90 days
        unknown low credential-unused@cred:jonas-ssh-key: last use unknown
            last_used null, issued_at null
        unknown low credential-unused@cred:research-oidc-secret: last use unknown
            last_used null; issued 2025-10-02T13:20:00Z (421 days before 2026-11-28T12:00:00Z)
        unknown low credential-unused@cred:social-api-key: last use unknown
            last_used null; issued 2026-10-01T10:00:00Z (58 days before 2026-11-28T12:00:00Z)
        unknown low credential-unused@cred:vault-token-legal: last use unknown
            last_used null; issued 2026-11-28T08:00:00Z (0 days before 2026-11-28T12:00:00Z)
        fail critical credential-crown-jewel-admin@cred:aws-deploy-access-key: live credential with admin on crown jewel res:aws-prod-api
            api_key of arn:aws:iam::123456789012:role/prod-deployer: never expires
            grant g-035: arn:aws:iam::123456789012:role/prod-deployer -> res:aws-prod-api [admin]
        fail critical credential-crown-jewel-admin@cred:customer-db-password: live credential with admin on crown jewel res:customer-db
            password of svc:customer-db-admin: never expires
            grant g-036: svc:customer-db-admin -> res:customer-db [admin]
        fail critical credential-crown-jewel-admin@cred:svid-oncall-sre: live credential with admin on crown jewel res:vault-prod
            x509_svid of spiffe://northwind.example/agents/oncall-sre: expires 2026-11-28T17:30:00Z
            grant g-034: spiffe://northwind.example/agents/oncall-sre -> res:vault-prod [admin]
        fail medium expired-credential-stored@cred:legacy-sftp-password: expired 2025-06-30T00:00:00Z but still kept in res:vault-kv-legacy
            expired 2025-06-30T00:00:00Z; held by res:vault-kv-legacy
        fail medium autonomous-standing-access@agent:ci-fixer: autonomous agent holds 2 standing grant(s)
            grant g-011: system:serviceaccount:ci:ci-fixer -> res:ci-pipeline [write], standing, expires never
            grant g-012: system:serviceaccount:ci:ci-fixer -> tool:ci-logs [invoke], standing, expires never
        fail medium autonomous-standing-access@agent:etl-orchestrator: autonomous agent holds 1 standing grant(s)
            grant g-026: spiffe://northwind.example/agents/etl-orchestrator -> res:etl-nightly [write], standing, expires never
        fail high autonomous-standing-access@agent:finance-recon: autonomous agent holds 2 standing grant(s)
            grant g-015: arn:aws:iam::123456789012:role/finance-recon -> res:vault-kv-finance [read], standing, expires never
            grant g-018: agent:finance-recon -> tool:slack-post [invoke], standing, expires never
        fail high autonomous-standing-access@agent:oncall-sre: autonomous agent holds 3 standing grant(s)
            grant g-034: spiffe://northwind.example/agents/oncall-sre -> res:vault-prod [admin], standing, expires never
            grant g-037: svc:shared-ops -> tool:kubectl [invoke], standing, expires never
            grant g-038: svc:shared-ops -> res:slack-incidents [write], standing, expires never
        fail medium autonomous-standing-access@agent:sales-outreach: autonomous agent holds 1 standing grant(s)
            grant g:ba8623c105ab61c3: apikey:crm-integration -> res:crm [read,write], standing, expires never
        fail medium autonomous-standing-access@agent:secrets-scanner: autonomous agent holds 2 standing grant(s)
            grant g-049: system:serviceaccount:security:secrets-scanner -> res:repo-platform [read], standing, expires never
            grant g-050: system:serviceaccount:security:secrets-scanner -> res:repo-docs [read], standing, expires never
        fail high autonomous-standing-access@agent:support-bot: autonomous agent holds 4 standing grant(s)
            grant g-003: spiffe://northwind.example/agents/support-bot -> tool:helpdesk-search [invoke], standing, expires never
            grant g-004: spiffe://northwind.example/agents/support-bot -> tool:helpdesk-reply [invoke], standing, expires never
            grant g-005: spiffe://northwind.example/agents/support-bot -> res:vault-kv-support [read], standing, expires never
            grant g-008: spiffe://northwind.example/agents/support-bot -> tool:slack-post [invoke], standing, expires never
        fail medium autonomous-standing-access@agent:triage-router: autonomous agent holds 1 standing grant(s)
            grant g-001: agent:triage-router -> agent:support-bot [delegate], standing, expires never
        fail medium approval-gated-data-access@agent:code-reviewer: supervised agent can collect or change data before any approval
            grant g-009: spiffe://northwind.example/agents/code-reviewer -> res:repo-platform [read,write], standing, expires never
            grant g-010: spiffe://northwind.example/agents/code-reviewer -> tool:ci-logs [invoke], standing, expires never; tool:ci-logs acts on res:ci-pipeline [read]
        fail medium approval-gated-data-access@agent:exec-briefing: assistive agent can collect or change data before any approval
            grant g-051: spiffe://northwind.example/agents/exec-briefing -> tool:sql-query [invoke], standing, expires never; tool:sql-query acts on res:warehouse [read]
        fail medium approval-gated-data-access@agent:hr-onboarding: supervised agent can collect or change data before any approval
            grant g-019: human:jonas.mueller -> res:hr-db [read,write], standing, expires never
            grant g-020: agent:hr-onboarding -> tool:hr-records-lookup [invoke], standing, expires never; tool:hr-records-lookup acts on res:hr-db [read]
            grant g-021: human:jonas.mueller -> res:helpdesk [write], standing, expires never
        fail medium approval-gated-data-access@agent:legal-review: supervised agent can collect or change data before any approval
            grant g-043: vault:approle/legal-review -> res:contracts-drive [read], standing, expires never
            grant g-044: vault:approle/legal-review -> res:vault-kv-legacy [read], standing, expires never
        fail medium approval-gated-data-access@agent:localisation: supervised agent can collect or change data before any approval
            grant g-047: spiffe://northwind.example/agents/localisation -> res:repo-docs [read,write], standing, expires never
        fail medium approval-gated-data-access@agent:marketing-copy: assistive agent can collect or change data before any approval
            grant g-041: agent:marketing-copy -> tool:social-post [invoke], standing, expires never; tool:social-post acts on res:social-api [write]
        fail medium approval-gated-data-access@agent:sales-forecaster: supervised agent can collect or change data before any approval
            grant g-025: agent:sales-forecaster -> tool:sql-query [invoke], standing, expires never; tool:sql-query acts on res:warehouse [read]
            grant g:ba8623c105ab61c3: apikey:crm-integration -> res:crm [read,write], standing, expires never
        fail high crown-jewel-reach@agent:ci-fixer: reaches 1 crown jewel(s): res:aws-prod-api
            res:aws-prod-api [write] in 6 hop(s): agent:ci-fixer > system:serviceaccount:ci:ci-fixer > tool:ci-logs > res:ci-pipeline > cred:deploy-ssh-key > svc:deploy-bot > res:aws-prod-api
        fail high crown-jewel-reach@agent:code-reviewer: reaches 1 crown jewel(s): res:aws-prod-api
            res:aws-prod-api [write] in 6 hop(s): agent:code-reviewer > spiffe://northwind.example/agents/code-reviewer > tool:ci-logs > res:ci-pipeline > cred:deploy-ssh-key > svc:deploy-bot > res:aws-prod-api
        fail high crown-jewel-reach@agent:etl-orchestrator: reaches 1 crown jewel(s): res:warehouse
            res:warehouse [write] in 4 hop(s): agent:etl-orchestrator > spiffe://northwind.example/agents/etl-orchestrator > res:etl-nightly > arn:aws:iam::123456789012:role/etl-runner > res:warehouse
        fail high crown-jewel-reach@agent:exec-briefing: reaches 1 crown jewel(s): res:warehouse
            res:warehouse [read] in 3 hop(s): agent:exec-briefing > spiffe://northwind.example/agents/exec-briefing > tool:sql-query > res:warehouse
        fail high crown-jewel-reach@agent:finance-recon: reaches 2 crown jewel(s): res:ledger-db, res:payments-api
            res:ledger-db [read,write] in 5 hop(s): agent:finance-recon > arn:aws:iam::123456789012:role/finance-recon > res:vault-kv-finance > cred:ledger-db-password > svc:ledger-writer > res:ledger-db
            res:payments-api [read] in 5 hop(s): agent:finance-recon > arn:aws:iam::123456789012:role/finance-recon > res:vault-kv-finance > cred:payments-restricted-key > apikey:payments-recon > res:payments-api
        fail high crown-jewel-reach@agent:hr-onboarding: reaches 1 crown jewel(s): res:hr-db
            res:hr-db [read,write] in 2 hop(s): agent:hr-onboarding > human:jonas.mueller > res:hr-db
        fail high crown-jewel-reach@agent:oncall-sre: reaches 3 crown jewel(s): res:aws-prod-api, res:customer-db, res:vault-prod
            res:aws-prod-api [admin,read] in 3 hop(s): agent:oncall-sre > spiffe://northwind.example/agents/oncall-sre > arn:aws:iam::123456789012:role/prod-readonly > res:aws-prod-api
            res:customer-db [admin] in 5 hop(s): agent:oncall-sre > spiffe://northwind.example/agents/oncall-sre > res:vault-prod > cred:customer-db-password > svc:customer-db-admin > res:customer-db
            res:vault-prod [admin] in 2 hop(s): agent:oncall-sre > spiffe://northwind.example/agents/oncall-sre > res:vault-prod
        fail high crown-jewel-reach@agent:research-assistant: reaches 1 crown jewel(s): res:warehouse
            res:warehouse [read] in 3 hop(s): agent:research-assistant > oidc:research-assistant > tool:sql-query > res:warehouse
        fail high crown-jewel-reach@agent:sales-forecaster: reaches 1 crown jewel(s): res:warehouse
            res:warehouse [read] in 2 hop(s): agent:sales-forecaster > tool:sql-query > res:warehouse
        fail high crown-jewel-reach@agent:support-bot: reaches 1 crown jewel(s): res:customer-db
            res:customer-db [read] in 1 hop(s): agent:support-bot > res:customer-db
        fail high crown-jewel-reach@agent:triage-router: reaches 3 crown jewel(s): res:aws-prod-api, res:customer-db, res:vault-prod
            res:aws-prod-api [admin,read] in 5 hop(s): agent:triage-router > spiffe://northwind.example/agents/triage-router > agent:oncall-sre > spiffe://northwind.example/agents/oncall-sre > arn:aws:iam::123456789012:role/prod-readonly > res:aws-prod-api
            res:customer-db [admin,read] in 2 hop(s): agent:triage-router > agent:support-bot > res:customer-db
            res:vault-prod [admin] in 4 hop(s): agent:triage-router > spiffe://northwind.example/agents/triage-router > agent:oncall-sre > spiffe://northwind.example/agents/oncall-sre > res:vault-prod
        fail high secret-store-exposure@agent:finance-recon: a reachable secret store exposes credentials of a more privileged identity
            res:vault-kv-finance (reached in 2 hop(s)) holds cred:ledger-db-password of svc:ledger-writer, which reaches res:ledger-db in 1 hop(s)
            res:vault-kv-finance (reached in 2 hop(s)) holds cred:payments-restricted-key of apikey:payments-recon, which reaches res:payments-api in 1 hop(s)
        fail high secret-store-exposure@agent:oncall-sre: a reachable secret store exposes credentials of a more privileged identity
            res:vault-prod (reached in 2 hop(s)) holds cred:aws-deploy-access-key of arn:aws:iam::123456789012:role/prod-deployer, which reaches res:aws-prod-api in 1 hop(s)
            res:vault-prod (reached in 2 hop(s)) holds cred:customer-db-password of svc:customer-db-admin, which reaches res:customer-db in 1 hop(s)
        fail high secret-store-exposure@agent:triage-router: a reachable secret store exposes credentials of a more privileged identity
            res:vault-prod (reached in 4 hop(s)) holds cred:aws-deploy-access-key of arn:aws:iam::123456789012:role/prod-deployer, which reaches res:aws-prod-api in 1 hop(s)
            res:vault-prod (reached in 4 hop(s)) holds cred:customer-db-password of svc:customer-db-admin, which reaches res:customer-db in 1 hop(s)
        fail high environment-isolation@agent:etl-orchestrator: prod agent reaches 1 resource(s) of another environment
            prod agent reaches res:dev-feature-store (dev) in 4 hop(s): agent:etl-orchestrator > spiffe://northwind.example/agents/etl-orchestrator > res:etl-nightly > arn:aws:iam::123456789012:role/etl-runner > res:dev-feature-store
        unknown high environment-isolation@agent:legal-review: 2 reached resource(s) have no environment
            environment unknown for 2 reached resource(s): res:contracts-drive, res:vault-kv-legacy
        unknown high environment-isolation@agent:localisation: 1 reached resource(s) have no environment
            environment unknown for 1 reached resource(s): res:repo-docs
        unknown high environment-isolation@agent:marketing-copy: 1 reached resource(s) have no environment
            environment unknown for 1 reached resource(s): res:repo-docs
        fail high environment-isolation@agent:research-assistant: dev agent reaches 1 resource(s) of another environment
            dev agent reaches res:warehouse (prod) in 3 hop(s): agent:research-assistant > oidc:research-assistant > tool:sql-query > res:warehouse
        fail high environment-isolation@agent:sales-forecaster: staging agent reaches 2 resource(s) of another environment
            staging agent reaches res:crm (prod) in 2 hop(s): agent:sales-forecaster > apikey:crm-integration > res:crm
            staging agent reaches res:warehouse (prod) in 2 hop(s): agent:sales-forecaster > tool:sql-query > res:warehouse
        unknown high environment-isolation@agent:secrets-scanner: 1 reached resource(s) have no environment
            environment unknown for 1 reached resource(s): res:repo-docs
        fail high tool-own-identity@tool:hr-records-lookup: tool without its own identity acts on restricted data
            runs_as: null (acts with its callers' rights)
            acts on res:hr-db (restricted, crown jewel) with [read]
        fail low grant-provenance@g-029: grant has no recorded source
            grant g-029: arn:aws:iam::123456789012:role/etl-runner -> res:dev-feature-store [write], standing, expires never
            source: null
        fail low grant-provenance@g-042: grant has no recorded source
            grant g-042: agent:marketing-copy -> res:repo-docs [read], standing, expires never
            source: null
        fail low grant-provenance@g-046: grant has no recorded source
            grant g-046: svc:legacy-sftp -> res:partner-sftp [write], standing, expires never
            source: null
        fail low grant-expired-on-record@g-007: expired 2026-10-01T00:00:00Z but still on record
            grant g-007: spiffe://northwind.example/agents/support-bot -> res:customer-db [write], just in time, expires 2026-10-01T00:00:00Z
        fail low grant-expired-on-record@g-045: expired 2026-09-30T00:00:00Z but still on record
            grant g-045: agent:legal-review -> res:hr-db [read], just in time, expires 2026-09-30T00:00:00Z
        totals {"fail": 73, "pass": 282, "unknown": 9}
    "#]].assert_eq(&render(&load(&path), false));
}

#[test]
fn findings_name_their_framework_items() {
    let items = framework_items("credential-short-lived");
    assert!(items.contains(&(Framework::OwaspNhi, "NHI7")));
    assert!(items.contains(&(Framework::NistAiRmf, "MEASURE 2.7")));
    assert!(check_bears_on("agent-owner", Framework::Maestro));
}

/// An agent that reaches many targets gets findings a person can read: every crown jewel named,
/// witness paths for the nearest few, and the rest counted; the statuses do not change.
#[test]
fn findings_list_the_nearest_targets_and_count_the_rest() {
    let mut resources = Vec::new();
    let mut grants = Vec::new();
    for n in 0..30 {
        resources.push(format!(
            r#"{{"id":"res:j{n:02}","kind":"database","name":"j{n}","sensitivity":"restricted","crown_jewel":true,"environment":"dev"}}"#
        ));
        grants.push(format!(
            r#"{{"id":"g{n:02}","subject":"id:a","target":"res:j{n:02}","actions":["read"],"standing":true}}"#
        ));
    }
    let text = format!(
        r#"{{"bridle":"estate/v1",
        "agents":[{{"id":"agent:a","name":"A","owner":"o@example.com","environment":"prod","autonomy":"supervised","runs_as":["id:a"]}}],
        "identities":[{{"id":"id:a","kind":"spiffe","name":"a"}}],
        "resources":[{}],
        "grants":[{}]}}"#,
        resources.join(","),
        grants.join(",")
    );
    let estate = parse(text.as_bytes(), Syntax::Json)
        .estate
        .expect("fixture is valid");
    let graph = PrivilegeGraph::build(&estate, at());
    let findings = evaluate(&estate, &graph, at(), &Limits::default());
    let find = |id: &str| findings.iter().find(|f| f.id == id).expect(id);

    let jewels = find("crown-jewel-reach@agent:a");
    assert_eq!(jewels.status, Status::Fail);
    assert_eq!(
        jewels.summary,
        "reaches 30 crown jewel(s): res:j00, res:j01, res:j02, res:j03, res:j04 and 25 more"
    );
    assert_eq!(jewels.entities.len(), 31, "the agent and every jewel");
    assert_eq!(jewels.paths.len(), LISTED_TARGETS);
    assert_eq!(jewels.evidence.len(), LISTED_TARGETS + 1);
    assert_eq!(
        jewels.evidence.last().unwrap(),
        "and 10 more crown jewel(s) not listed here (the 20 nearest are; `bridle reach` lists all)"
    );
    assert_eq!(jewels.paths[0], ["agent:a", "id:a", "res:j00"]);

    let isolation = find("environment-isolation@agent:a");
    assert_eq!(isolation.status, Status::Fail);
    assert_eq!(
        isolation.summary,
        "prod agent reaches 30 resource(s) of another environment"
    );
    assert_eq!(isolation.paths.len(), LISTED_TARGETS);
    assert_eq!(isolation.entities.len(), LISTED_TARGETS + 1);
}
