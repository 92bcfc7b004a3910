//! Human tables and `--json` for every result the CLI prints.

/// `println!` that returns the write error (a closed pipe, e.g. `bridle ls grants | head`)
/// instead of panicking; `main` treats a broken pipe as a normal end.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}
pub(crate) use say;

use anyhow::Result;
use bridle_app::SnapshotCheck;
use bridle_protocol::{
    AcknowledgedBreak, AuditEntry, AuditVerification, BlastRadius, Chokepoints, Entity,
    EntityDetail, EntityList, GrantRow, ImportOutcome, ListPage, Overview, Paths, Reach, Severity,
    Snapshot, Timestamp, WhatIf, WhoCanReach,
};
use comfy_table::{Table, presets};
use serde::Serialize;

pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    say!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// [`print_json`] written as it is serialized (through a buffer), for results too large to hold
/// as one string.
pub(crate) fn print_json_streamed<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.iter().map(|h| h.to_uppercase()));
    table
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

fn time(value: &Option<Timestamp>) -> String {
    value
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

fn never(value: &Option<Timestamp>) -> String {
    value
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "never".to_owned())
}

/// `ls KIND` with paging options: the page's table and where it lies in the listing; `--json`
/// prints the page with its counts.
pub fn entity_page(page: &ListPage, json: bool) -> Result<()> {
    if json {
        return print_json(page);
    }
    let shown = page.rows.len() as u64;
    say!("{}", entity_table(&page.rows));
    let kind = kind_word(&page.rows);
    let of = if page.matched == page.total {
        format!("{} {kind}", page.total)
    } else {
        format!("{} matching {kind} ({} in all)", page.matched, page.total)
    };
    if shown == 0 {
        say!("no rows at offset {} of {of}", page.offset);
    } else {
        say!("rows {}-{} of {of}", page.offset + 1, page.offset + shown);
    }
    Ok(())
}

/// `ls KIND`: `--json` prints a plain array of rows.
pub fn entity_list(list: &EntityList, json: bool) -> Result<()> {
    if json {
        return match list {
            EntityList::Agents(rows) => print_json(rows),
            EntityList::Identities(rows) => print_json(rows),
            EntityList::Credentials(rows) => print_json(rows),
            EntityList::Resources(rows) => print_json(rows),
            EntityList::Tools(rows) => print_json(rows),
            EntityList::Grants(rows) => print_json(rows),
        };
    }
    say!("{}", entity_table(list));
    say!("{} {}", list.len(), kind_word(list));
    Ok(())
}

fn entity_table(list: &EntityList) -> Table {
    match list {
        EntityList::Agents(rows) => {
            let mut t = table(&["id", "name", "owner", "env", "autonomy", "runs as"]);
            for r in rows {
                t.add_row(vec![
                    r.id.clone(),
                    r.name.clone(),
                    opt(&r.owner),
                    opt(&r.environment),
                    r.autonomy.clone(),
                    r.runs_as.join(", "),
                ]);
            }
            t
        }
        EntityList::Identities(rows) => {
            let mut t = table(&["id", "kind", "name", "owner", "provider"]);
            for r in rows {
                t.add_row(vec![
                    r.id.clone(),
                    r.kind.clone(),
                    r.name.clone(),
                    opt(&r.owner),
                    opt(&r.provider),
                ]);
            }
            t
        }
        EntityList::Credentials(rows) => {
            let mut t = table(&[
                "id",
                "identity",
                "kind",
                "issued",
                "expires",
                "rotated",
                "last used",
            ]);
            for r in rows {
                t.add_row(vec![
                    r.id.clone(),
                    r.identity.clone(),
                    r.kind.clone(),
                    time(&r.issued_at),
                    never(&r.expires_at),
                    time(&r.last_rotated),
                    time(&r.last_used),
                ]);
            }
            t
        }
        EntityList::Resources(rows) => {
            let mut t = table(&["id", "kind", "name", "sensitivity", "crown jewel", "env"]);
            for r in rows {
                t.add_row(vec![
                    r.id.clone(),
                    r.kind.clone(),
                    r.name.clone(),
                    r.sensitivity.clone(),
                    if r.crown_jewel {
                        "yes".into()
                    } else {
                        "".into()
                    },
                    opt(&r.environment),
                ]);
            }
            t
        }
        EntityList::Tools(rows) => {
            let mut t = table(&["id", "name", "server", "runs as", "acts on"]);
            for r in rows {
                let acts_on: Vec<String> = r
                    .acts_on
                    .iter()
                    .map(|a| format!("{} ({})", a.resource, a.actions.join(",")))
                    .collect();
                t.add_row(vec![
                    r.id.clone(),
                    r.name.clone(),
                    opt(&r.server),
                    opt(&r.runs_as),
                    acts_on.join("; "),
                ]);
            }
            t
        }
        EntityList::Grants(rows) => grant_table(rows),
    }
}

fn kind_word(list: &EntityList) -> &'static str {
    match list {
        EntityList::Agents(_) => "agents",
        EntityList::Identities(_) => "identities",
        EntityList::Credentials(_) => "credentials",
        EntityList::Resources(_) => "resources",
        EntityList::Tools(_) => "tools",
        EntityList::Grants(_) => "grants",
    }
}

fn grant_table(rows: &[GrantRow]) -> Table {
    let mut t = table(&[
        "id", "subject", "target", "actions", "standing", "expires", "source",
    ]);
    for r in rows {
        t.add_row(vec![
            r.id.clone(),
            r.subject.clone(),
            r.target.clone(),
            r.actions.join(","),
            if r.standing {
                "standing".into()
            } else {
                "just-in-time".into()
            },
            never(&r.expires_at),
            opt(&r.source),
        ]);
    }
    t
}

pub fn entity_detail(detail: &EntityDetail, json: bool) -> Result<()> {
    if json {
        return print_json(detail);
    }
    let (kind, fields, provenance) = match &detail.entity {
        Entity::Agent(a) => ("agent", serde_json::to_value(a)?, &a.provenance),
        Entity::Identity(i) => ("identity", serde_json::to_value(i)?, &i.provenance),
        Entity::Credential(c) => ("credential", serde_json::to_value(c)?, &c.provenance),
        Entity::Resource(r) => ("resource", serde_json::to_value(r)?, &r.provenance),
        Entity::Tool(t) => ("tool", serde_json::to_value(t)?, &t.provenance),
        Entity::Grant(g) => ("grant", serde_json::to_value(g)?, &g.provenance),
    };
    let mut t = table(&["field", kind]);
    if let serde_json::Value::Object(map) = fields {
        for (key, value) in map {
            if key == "provenance" {
                continue;
            }
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => "-".to_owned(),
                other => other.to_string(),
            };
            t.add_row(vec![key, text]);
        }
    }
    say!("{t}");
    say!(
        "\nsource {} · first seen {} · last seen {}",
        provenance.origin,
        provenance.first_seen.format("%Y-%m-%d %H:%M"),
        provenance.last_seen.format("%Y-%m-%d %H:%M")
    );
    for (title, grants) in [
        ("Grants held (out)", &detail.grants_out),
        ("Grants on it (in)", &detail.grants_in),
    ] {
        if !grants.is_empty() {
            say!("\n{title}\n{}", grant_table(grants));
        }
    }
    if !detail.credentials.is_empty() {
        let mut c = table(&["credential", "identity", "kind", "expires"]);
        for r in &detail.credentials {
            c.add_row(vec![
                r.id.clone(),
                r.identity.clone(),
                r.kind.clone(),
                never(&r.expires_at),
            ]);
        }
        say!("\nCredentials\n{c}");
    }
    if !detail.tools.is_empty() {
        let mut c = table(&["tool", "name", "runs as"]);
        for r in &detail.tools {
            c.add_row(vec![r.id.clone(), r.name.clone(), opt(&r.runs_as)]);
        }
        say!("\nTools\n{c}");
    }
    if !detail.referenced_by.is_empty() {
        let mut c = table(&["referenced by", "kind", "field"]);
        for r in &detail.referenced_by {
            c.add_row(vec![
                r.from.id.clone(),
                r.from.kind.clone(),
                r.field.clone(),
            ]);
        }
        say!("\n{c}");
    }
    Ok(())
}

pub fn snapshots(
    snapshots: &[Snapshot],
    checks: Option<&[SnapshotCheck]>,
    json: bool,
) -> Result<()> {
    if json {
        #[derive(Serialize)]
        struct Checked<'a> {
            #[serde(flatten)]
            snapshot: &'a Snapshot,
            #[serde(skip_serializing_if = "Option::is_none")]
            reconstructs: Option<bool>,
        }
        let rows: Vec<Checked<'_>> = snapshots
            .iter()
            .map(|s| Checked {
                snapshot: s,
                reconstructs: checks
                    .and_then(|c| c.iter().find(|c| c.snapshot == s.id))
                    .map(SnapshotCheck::holds),
            })
            .collect();
        return print_json(&rows);
    }
    let mut header = vec![
        "id",
        "taken at",
        "source",
        "agents",
        "grants",
        "+added",
        "~changed",
        "-removed",
        "estate sha256",
    ];
    if checks.is_some() {
        header.push("reconstructs");
    }
    let mut t = table(&header);
    for s in snapshots {
        let mut row = vec![
            s.id.to_string(),
            s.taken_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            s.source.clone(),
            s.counts.agents.to_string(),
            s.counts.grants.to_string(),
            s.added.to_string(),
            s.changed.to_string(),
            s.removed.to_string(),
            s.estate_sha256.clone(),
        ];
        if let Some(checks) = checks {
            let check = checks.iter().find(|c| c.snapshot == s.id);
            row.push(match check {
                Some(c) if c.holds() => "yes".to_owned(),
                Some(c) => format!("NO (rebuilds to {})", c.reconstructed),
                None => "-".to_owned(),
            });
        }
        t.add_row(row);
    }
    say!("{t}");
    Ok(())
}

pub fn audit_log(entries: &[AuditEntry], json: bool) -> Result<()> {
    if json {
        return print_json(entries);
    }
    let mut t = table(&["seq", "at", "who", "action", "subject", "hash"]);
    for e in entries {
        t.add_row(vec![
            e.seq.to_string(),
            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            format!("{}@{}", e.user, e.host),
            e.action.clone(),
            e.subject.clone(),
            e.hash[..16].to_owned(),
        ]);
    }
    say!("{t}");
    Ok(())
}

pub fn audit_verification(v: &AuditVerification, json: bool) -> Result<()> {
    if json {
        return print_json(v);
    }
    if v.intact {
        say!(
            "audit log intact: {} entries, head {}",
            v.entries,
            v.head_hash.as_deref().unwrap_or("(empty)")
        );
    } else {
        match v.first_broken_seq {
            Some(seq) => say!("audit log BROKEN at entry {seq}"),
            None => say!("audit log BROKEN"),
        }
        for problem in &v.problems {
            say!("  {problem}");
        }
    }
    if let Some(n) = v.snapshots_rebuilt {
        say!("{n} snapshots rebuilt and checked against their recorded hashes");
    }
    for acknowledged in &v.acknowledged {
        say!("acknowledged break: {}", acknowledged.summary());
    }
    for note in &v.notes {
        say!("note: {note}");
    }
    Ok(())
}

pub fn audit_acknowledged(a: &AcknowledgedBreak, json: bool) -> Result<()> {
    if json {
        return print_json(a);
    }
    say!(
        "acknowledged as entry {}; the audit log continues from it",
        a.seq
    );
    for problem in &a.problems {
        say!("  was broken: {problem}");
    }
    Ok(())
}

pub fn overview(o: &Overview, json: bool) -> Result<()> {
    if json {
        return print_json(o);
    }
    let c = &o.counts;
    let mut t = table(&["inventory", "count"]);
    for (name, n) in [
        ("agents", c.agents),
        ("identities", c.identities),
        ("credentials", c.credentials),
        ("resources", c.resources),
        ("tools", c.tools),
        ("grants", c.grants),
        ("agents without owner", o.agents_without_owner),
        (
            &*format!(
                "long-lived credentials (no expiry or > {} days)",
                o.rotation_limit_days
            ),
            o.long_lived_credentials,
        ),
        ("standing grants", o.standing_grants),
    ] {
        t.add_row(vec![name.to_owned(), n.to_string()]);
    }
    say!("{t}");
    match &o.last_snapshot {
        Some(s) => say!(
            "last snapshot {} ({}, {}), estate sha256 {}",
            s.id,
            s.source,
            s.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
            s.estate_sha256
        ),
        None => say!("no snapshot yet"),
    }
    Ok(())
}

/// Diagnostics go to stderr as `FILE: LOCATION: message`, one per line.
pub fn import_outcome(file: &str, outcome: &ImportOutcome, json: bool) -> Result<()> {
    let diagnostics = match outcome {
        ImportOutcome::Imported { warnings, .. } => warnings,
        ImportOutcome::Rejected { diagnostics } => diagnostics,
    };
    for d in diagnostics {
        match d.severity {
            Severity::Error => eprintln!("{file}: {}: {}", d.location, d.message),
            Severity::Warning => eprintln!("{file}: {}: warning: {}", d.location, d.message),
        }
    }
    if json {
        return print_json(outcome);
    }
    match outcome {
        ImportOutcome::Imported { snapshot: s, .. } => {
            say!(
                "imported {file} as snapshot {} (source {}): {} added, {} changed, {} removed",
                s.id,
                s.source,
                s.added,
                s.changed,
                s.removed
            );
            let c = &s.counts;
            say!(
                "inventory: {} agents, {} identities, {} credentials, {} resources, {} tools, {} grants",
                c.agents,
                c.identities,
                c.credentials,
                c.resources,
                c.tools,
                c.grants
            );
        }
        ImportOutcome::Rejected { diagnostics } => {
            let errors = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            eprintln!("{file}: rejected with {errors} error(s); nothing was written");
        }
    }
    Ok(())
}

pub fn reach(r: &Reach, json: bool) -> Result<()> {
    if json {
        return print_json(r);
    }
    let mut t = table(&["target", "kind", "actions", "hops", "path"]);
    for x in &r.reachable {
        t.add_row(vec![
            x.target.clone(),
            x.kind.clone(),
            x.actions.join(","),
            x.hops.to_string(),
            x.path.join(" -> "),
        ]);
    }
    say!("{t}");
    say!(
        "{} reaches {} entities at {}",
        r.from,
        r.reachable.len(),
        r.at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    Ok(())
}

pub fn paths(p: &Paths, json: bool) -> Result<()> {
    if json {
        return print_json(p);
    }
    match p.shortest {
        None => say!(
            "{} does not reach {} at {}",
            p.from,
            p.to,
            p.at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        Some(hops) => say!("shortest: {hops} hops"),
    }
    for (n, path) in p.paths.iter().enumerate() {
        say!("\n#{} ({} hops)", n + 1, path.hops);
        for (i, node) in path.nodes.iter().enumerate() {
            if i == 0 {
                say!("  {node}");
            } else {
                say!("  -> {node}    [{}]", path.via[i - 1].join("; "));
            }
        }
    }
    if p.truncated {
        say!("\n(search budget exhausted: more paths may exist)");
    }
    Ok(())
}

pub fn who_can_reach(w: &WhoCanReach, json: bool) -> Result<()> {
    if json {
        return print_json(w);
    }
    let mut t = table(&["source", "kind", "hops"]);
    for s in &w.sources {
        t.add_row(vec![s.source.clone(), s.kind.clone(), s.hops.to_string()]);
    }
    say!("{t}");
    say!("{} sources reach {}", w.sources.len(), w.target);
    Ok(())
}

pub fn blast_radius(b: &BlastRadius, json: bool) -> Result<()> {
    if json {
        return print_json(b);
    }
    let with_hops = b.entries.iter().any(|e| e.max_hops.is_some());
    let mut header = vec![
        "source",
        "kind",
        "resources",
        "crown jewels",
        "worst sensitivity",
    ];
    if with_hops {
        header.push("max hops");
    }
    let mut t = table(&header);
    for e in &b.entries {
        let mut row = vec![
            e.source.clone(),
            e.kind.clone(),
            e.resources.to_string(),
            format!("{} {}", e.crown_jewels.len(), e.crown_jewels.join(", ")),
            e.worst_sensitivity.clone().unwrap_or_else(|| "-".into()),
        ];
        if with_hops {
            row.push(e.max_hops.map(|h| h.to_string()).unwrap_or_default());
        }
        t.add_row(row);
    }
    say!("{t}");
    say!("{} crown jewels in the estate", b.crown_jewels);
    Ok(())
}

pub fn chokepoints(c: &Chokepoints, json: bool) -> Result<()> {
    if json {
        return print_json(c);
    }
    let mut t = table(&["cuts", "item", "what"]);
    for i in &c.items {
        t.add_row(vec![
            i.cut_pairs.to_string(),
            i.item.clone(),
            i.description.clone(),
        ]);
    }
    say!("{t}");
    say!("{} (agent, crown jewel) pairs are reachable", c.total_pairs);
    if let Some(set) = &c.greedy_set {
        say!(
            "\ngreedy set of {}: cuts {} pairs together (recomputed)",
            set.items.len(),
            set.combined_cut
        );
        for i in &set.items {
            say!("  +{}  {}", i.cut_pairs, i.description);
        }
    }
    Ok(())
}

pub fn what_if(w: &WhatIf, json: bool) -> Result<()> {
    if json {
        return print_json(w);
    }
    say!("lost ({}):", w.lost.len());
    for p in &w.lost {
        say!(
            "  {} -/-> {} (had {})",
            p.agent,
            p.resource,
            p.actions.join(",")
        );
    }
    say!("shrunk ({}):", w.shrunk.len());
    for p in &w.shrunk {
        say!(
            "  {} -> {}: {} => {}",
            p.agent,
            p.resource,
            p.before.join(","),
            p.after.join(",")
        );
    }
    say!("kept: {} (agent, resource) pairs", w.kept);
    Ok(())
}
