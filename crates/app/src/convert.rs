//! Domain → protocol conversions; the only place they happen.

use bridle_core::estate::{self, Severity};
use bridle_core::{Agent, Credential, Grant, Identity, Resource, Tool};
use bridle_protocol as protocol;
use bridle_store::{SnapshotRecord, Stored};

pub fn diagnostic(d: &estate::Diagnostic) -> protocol::Diagnostic {
    protocol::Diagnostic {
        severity: match d.severity {
            Severity::Error => protocol::Severity::Error,
            Severity::Warning => protocol::Severity::Warning,
        },
        location: d.location.to_string(),
        message: d.message.clone(),
    }
}

pub fn counts(c: &bridle_core::Counts) -> protocol::Counts {
    protocol::Counts {
        agents: c.agents,
        identities: c.identities,
        credentials: c.credentials,
        resources: c.resources,
        tools: c.tools,
        grants: c.grants,
    }
}

pub fn snapshot(s: &SnapshotRecord) -> protocol::Snapshot {
    protocol::Snapshot {
        id: s.id,
        taken_at: s.taken_at,
        source: s.source.clone(),
        origin: s.origin.clone(),
        estate_sha256: s.estate_sha256.clone(),
        counts: counts(&s.counts),
        added: s.added,
        changed: s.changed,
        removed: s.removed,
    }
}

fn provenance<T>(s: &Stored<T>) -> protocol::Provenance {
    protocol::Provenance {
        origin: s.origin.clone(),
        first_seen: s.first_seen,
        last_seen: s.last_seen,
    }
}

fn words(actions: bridle_core::ActionSet) -> Vec<String> {
    actions.words().into_iter().map(str::to_owned).collect()
}

pub fn agent(s: &Stored<Agent>) -> protocol::AgentRow {
    let a = &s.entity;
    protocol::AgentRow {
        id: a.id.clone(),
        name: a.name.clone(),
        owner: a.owner.clone(),
        environment: a.environment.clone(),
        autonomy: a.autonomy.as_str().to_owned(),
        runs_as: a.runs_as.clone(),
        provenance: provenance(s),
    }
}

pub fn identity(s: &Stored<Identity>) -> protocol::IdentityRow {
    let i = &s.entity;
    protocol::IdentityRow {
        id: i.id.clone(),
        kind: i.kind.as_str().to_owned(),
        name: i.name.clone(),
        owner: i.owner.clone(),
        provider: i.provider.clone(),
        provenance: provenance(s),
    }
}

pub fn credential(s: &Stored<Credential>) -> protocol::CredentialRow {
    let c = &s.entity;
    protocol::CredentialRow {
        id: c.id.clone(),
        identity: c.identity.clone(),
        kind: c.kind.as_str().to_owned(),
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        last_rotated: c.last_rotated,
        last_used: c.last_used,
        fingerprint: c.fingerprint.clone(),
        provenance: provenance(s),
    }
}

pub fn resource(s: &Stored<Resource>) -> protocol::ResourceRow {
    let r = &s.entity;
    protocol::ResourceRow {
        id: r.id.clone(),
        kind: r.kind.as_str().to_owned(),
        name: r.name.clone(),
        sensitivity: r.sensitivity.as_str().to_owned(),
        crown_jewel: r.crown_jewel,
        environment: r.environment.clone(),
        holds_credentials: r.holds_credentials.clone(),
        runs_as: r.runs_as.clone(),
        provenance: provenance(s),
    }
}

pub fn tool(s: &Stored<Tool>) -> protocol::ToolRow {
    let t = &s.entity;
    protocol::ToolRow {
        id: t.id.clone(),
        name: t.name.clone(),
        server: t.server.clone(),
        runs_as: t.runs_as.clone(),
        acts_on: t
            .acts_on
            .iter()
            .map(|e| protocol::ToolActionRow {
                resource: e.resource.clone(),
                actions: words(e.actions),
            })
            .collect(),
        provenance: provenance(s),
    }
}

pub fn grant(s: &Stored<Grant>) -> protocol::GrantRow {
    let g = &s.entity;
    protocol::GrantRow {
        id: g.id.clone(),
        subject: g.subject.clone(),
        target: g.target.clone(),
        actions: words(g.actions),
        standing: g.standing,
        expires_at: g.expires_at,
        conditions: g.conditions.clone(),
        source: g.source.clone(),
        provenance: provenance(s),
    }
}

pub fn acknowledged_break(a: &bridle_store::AcknowledgedBreak) -> protocol::AcknowledgedBreak {
    protocol::AcknowledgedBreak {
        seq: a.seq,
        at: a.at.clone(),
        user: a.user.clone(),
        host: a.host.clone(),
        reason: a.reason.clone(),
        first_broken_seq: a.first_broken_seq,
        problems: a.problems.clone(),
    }
}

pub fn audit_entry(e: &bridle_store::AuditEntry) -> protocol::AuditEntry {
    protocol::AuditEntry {
        seq: e.seq,
        at: e.at,
        user: e.user.clone(),
        host: e.host.clone(),
        action: e.action.clone(),
        subject: e.subject.clone(),
        detail: e.detail.clone(),
        prev_hash: e.prev_hash.clone(),
        hash: e.hash.clone(),
    }
}
