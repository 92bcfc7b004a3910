-- Bridle schema v5: approval flows.
--
-- A flow is a `bridle.flow/v1` document (YAML, as reviewed in git). Every saved version is kept
-- (`flow_versions`), written in the same transaction as its audit-log entry; `flows` names the
-- current version of each flow and the agent it is for. The document is stored as written, so
-- an export gives back what was imported; its sha256 identifies the version.

CREATE TABLE flow_versions (
    flow_id   TEXT    NOT NULL CHECK (length(flow_id) > 0),
    version   INTEGER NOT NULL CHECK (version > 0),
    document  TEXT    NOT NULL,
    sha256    TEXT    NOT NULL CHECK (length(sha256) = 64),
    at        TEXT    NOT NULL,
    user      TEXT    NOT NULL,
    host      TEXT    NOT NULL,
    audit_seq INTEGER NOT NULL REFERENCES audit_log (seq),
    PRIMARY KEY (flow_id, version)
) STRICT;

CREATE TABLE flows (
    id      TEXT    PRIMARY KEY,
    agent   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    FOREIGN KEY (id, version) REFERENCES flow_versions (flow_id, version)
) STRICT;
CREATE INDEX flows_by_agent ON flows (agent);
