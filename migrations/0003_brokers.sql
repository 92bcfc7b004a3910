-- Bridle schema v3: live brokers.
--
-- `broker_profiles` holds how to reach each broker: its address, TLS and timeout options, and a
-- *reference* to its credential (an environment variable name or a file path). No secret value
-- is ever written here.
--
-- `broker_sync_runs` records every sync, good or failed: a good run names the snapshot it
-- imported (written in the same transaction); a failed run has the error and no snapshot, and
-- the inventory is left as it was. `unknown_parts` lists what the broker would not let Bridle
-- read, with the reason.
--
-- `broker_observations` keeps, per good run, the broker facts the estate model has no field for
-- (role TTLs and bound claims, token accessors, leases, tool annotations...), so drift between
-- two syncs can compare them.

CREATE TABLE broker_profiles (
    name       TEXT NOT NULL PRIMARY KEY CHECK (length(name) > 0),
    kind       TEXT NOT NULL CHECK (kind IN ('openbao', 'oidc', 'mcp')),
    address    TEXT NOT NULL,
    profile    TEXT NOT NULL, -- JSON: the whole profile (credential as a reference only)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE broker_sync_runs (
    id            INTEGER PRIMARY KEY,
    profile       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    address       TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('ok', 'failed')),
    error         TEXT,
    snapshot_id   INTEGER REFERENCES snapshots (id),
    unknown_parts TEXT    NOT NULL, -- JSON array of {part, reason}
    observations  INTEGER NOT NULL,
    audit_seq     INTEGER NOT NULL REFERENCES audit_log (seq),
    CHECK ((status = 'ok') = (snapshot_id IS NOT NULL)),
    CHECK ((status = 'failed') = (error IS NOT NULL))
) STRICT;
CREATE INDEX broker_sync_runs_by_profile ON broker_sync_runs (profile, id);

CREATE TABLE broker_observations (
    run_id INTEGER NOT NULL REFERENCES broker_sync_runs (id),
    kind   TEXT    NOT NULL,
    id     TEXT    NOT NULL,
    facts  TEXT    NOT NULL, -- JSON object with sorted keys
    PRIMARY KEY (run_id, kind, id)
) STRICT, WITHOUT ROWID;
