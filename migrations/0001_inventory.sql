-- Bridle schema v1: temporal inventory, snapshots, audit log.
--
-- Every entity table is temporal: a row is valid from the snapshot that wrote it (`valid_from`)
-- until the snapshot that replaced or removed it (`valid_to`, NULL while current). Any past
-- snapshot S is reconstructed as the rows with valid_from <= S and (valid_to IS NULL or
-- valid_to > S); an unchanged entity costs nothing per import, so a million-grant estate that
-- changes a little keeps a little history.
--
-- `origin` is the entity's source (`import`, `import:<name>`, `vault:<profile>`...);
-- `first_seen` is kept across changes; `content_digest` (first 16 bytes of the sha256 of the
-- entity's canonical JSON) lets a re-import find changed entities without loading them.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE snapshots (
    id            INTEGER PRIMARY KEY,
    taken_at      TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    origin        TEXT,
    estate_sha256 TEXT    NOT NULL,
    agents        INTEGER NOT NULL,
    identities    INTEGER NOT NULL,
    credentials   INTEGER NOT NULL,
    resources     INTEGER NOT NULL,
    tools         INTEGER NOT NULL,
    grants        INTEGER NOT NULL,
    added         INTEGER NOT NULL,
    changed       INTEGER NOT NULL,
    removed       INTEGER NOT NULL
) STRICT;
CREATE INDEX snapshots_by_source ON snapshots (source, id);

CREATE TABLE agents (
    row_id         INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    valid_from     INTEGER NOT NULL REFERENCES snapshots (id),
    valid_to       INTEGER REFERENCES snapshots (id),
    first_seen     TEXT    NOT NULL,
    content_digest BLOB    NOT NULL,
    name           TEXT    NOT NULL,
    owner          TEXT,
    environment    TEXT,
    autonomy       TEXT    NOT NULL,
    runs_as        TEXT    NOT NULL -- JSON array of identity ids
) STRICT;

CREATE TABLE identities (
    row_id         INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    valid_from     INTEGER NOT NULL REFERENCES snapshots (id),
    valid_to       INTEGER REFERENCES snapshots (id),
    first_seen     TEXT    NOT NULL,
    content_digest BLOB    NOT NULL,
    kind           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    owner          TEXT,
    provider       TEXT
) STRICT;

CREATE TABLE credentials (
    row_id         INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    valid_from     INTEGER NOT NULL REFERENCES snapshots (id),
    valid_to       INTEGER REFERENCES snapshots (id),
    first_seen     TEXT    NOT NULL,
    content_digest BLOB    NOT NULL,
    identity       TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    issued_at      TEXT,
    expires_at     TEXT,
    last_rotated   TEXT,
    last_used      TEXT,
    fingerprint    TEXT
) STRICT;

CREATE TABLE resources (
    row_id            INTEGER PRIMARY KEY,
    id                TEXT    NOT NULL,
    origin            TEXT    NOT NULL,
    valid_from        INTEGER NOT NULL REFERENCES snapshots (id),
    valid_to          INTEGER REFERENCES snapshots (id),
    first_seen        TEXT    NOT NULL,
    content_digest    BLOB    NOT NULL,
    kind              TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    sensitivity       TEXT    NOT NULL,
    crown_jewel       INTEGER NOT NULL,
    environment       TEXT,
    holds_credentials TEXT    NOT NULL, -- JSON array of credential ids
    runs_as           TEXT    NOT NULL  -- JSON array of identity ids
) STRICT;

CREATE TABLE tools (
    row_id         INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    valid_from     INTEGER NOT NULL REFERENCES snapshots (id),
    valid_to       INTEGER REFERENCES snapshots (id),
    first_seen     TEXT    NOT NULL,
    content_digest BLOB    NOT NULL,
    name           TEXT    NOT NULL,
    server         TEXT,
    runs_as        TEXT,
    acts_on        TEXT    NOT NULL -- JSON array of {"resource": id, "actions": [words]}
) STRICT;

CREATE TABLE grants (
    row_id         INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL,
    origin         TEXT    NOT NULL,
    valid_from     INTEGER NOT NULL REFERENCES snapshots (id),
    valid_to       INTEGER REFERENCES snapshots (id),
    first_seen     TEXT    NOT NULL,
    content_digest BLOB    NOT NULL,
    subject        TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    actions        TEXT    NOT NULL, -- sorted action words joined by ","
    standing       INTEGER NOT NULL,
    expires_at     TEXT,
    conditions     TEXT,
    source         TEXT
) STRICT;

-- One current row per id and kind; history is found by (id, valid_from).
CREATE UNIQUE INDEX agents_current      ON agents      (id) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX identities_current  ON identities  (id) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX credentials_current ON credentials (id) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX resources_current   ON resources   (id) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX tools_current       ON tools       (id) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX grants_current      ON grants      (id) WHERE valid_to IS NULL;
CREATE INDEX agents_history      ON agents      (valid_from, valid_to);
CREATE INDEX identities_history  ON identities  (valid_from, valid_to);
CREATE INDEX credentials_history ON credentials (valid_from, valid_to);
CREATE INDEX resources_history   ON resources   (valid_from, valid_to);
CREATE INDEX tools_history       ON tools       (valid_from, valid_to);
CREATE INDEX grants_history      ON grants      (valid_from, valid_to);
CREATE INDEX agents_origin       ON agents      (origin) WHERE valid_to IS NULL;
CREATE INDEX identities_origin   ON identities  (origin) WHERE valid_to IS NULL;
CREATE INDEX credentials_origin  ON credentials (origin) WHERE valid_to IS NULL;
CREATE INDEX resources_origin    ON resources   (origin) WHERE valid_to IS NULL;
CREATE INDEX tools_origin        ON tools       (origin) WHERE valid_to IS NULL;
CREATE INDEX grants_origin       ON grants      (origin) WHERE valid_to IS NULL;
CREATE INDEX grants_subject      ON grants      (subject) WHERE valid_to IS NULL;
CREATE INDEX grants_target       ON grants      (target) WHERE valid_to IS NULL;
CREATE INDEX credentials_identity ON credentials (identity) WHERE valid_to IS NULL;

-- The audit log: append-only, hash-chained. `hash` = sha256 of the JSON array
-- [prev_hash, seq, at, user, host, action, subject, detail].
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    user      TEXT NOT NULL,
    host      TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;

-- The chain's head and length, authenticated by an HMAC whose key lives outside the database,
-- so deleting the newest entries or recomputing the whole chain is detected.
CREATE TABLE audit_anchor (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    entries   INTEGER NOT NULL,
    head_hash TEXT    NOT NULL,
    mac       TEXT    NOT NULL
) STRICT;
