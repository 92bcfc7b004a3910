-- Bridle schema v2: the risk register.
--
-- `risks` holds each risk's current state; `risk_events` is its full history (every add,
-- update, acceptance, closing and comment, with who and when, and the audit-log entry written in
-- the same transaction). Whether an acceptance still holds is decided when the register is read,
-- at an explicit evaluation time: an acceptance past `acceptance_expires` reopens the risk
-- without any write.

CREATE TABLE risks (
    id                  INTEGER PRIMARY KEY,
    title               TEXT    NOT NULL CHECK (length(title) > 0),
    description         TEXT    NOT NULL,
    categories          TEXT    NOT NULL, -- JSON array of "framework:item"
    likelihood          INTEGER NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    impact              INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 5),
    residual_likelihood INTEGER CHECK (residual_likelihood BETWEEN 1 AND 5),
    residual_impact     INTEGER CHECK (residual_impact BETWEEN 1 AND 5),
    owner               TEXT,
    treatment           TEXT    NOT NULL CHECK (treatment IN ('mitigate', 'accept', 'transfer', 'avoid')),
    status              TEXT    NOT NULL CHECK (status IN ('open', 'accepted', 'closed')),
    due                 TEXT,
    accepted_by         TEXT,
    accepted_reason     TEXT,
    accepted_at         TEXT,
    acceptance_expires  TEXT,
    findings            TEXT    NOT NULL, -- JSON array of finding ids (check@subject) or check ids
    controls            TEXT    NOT NULL, -- JSON array of control ids
    agents              TEXT    NOT NULL, -- JSON array of agent ids
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    CHECK (status <> 'accepted' OR (accepted_by IS NOT NULL AND acceptance_expires IS NOT NULL))
) STRICT;

CREATE TABLE risk_events (
    id        INTEGER PRIMARY KEY,
    risk_id   INTEGER NOT NULL REFERENCES risks (id),
    at        TEXT    NOT NULL,
    user      TEXT    NOT NULL,
    host      TEXT    NOT NULL,
    action    TEXT    NOT NULL, -- add, update, accept, close, comment
    detail    TEXT    NOT NULL, -- JSON: the changed fields, the acceptance, the comment text
    audit_seq INTEGER NOT NULL REFERENCES audit_log (seq)
) STRICT;
CREATE INDEX risk_events_by_risk ON risk_events (risk_id, id);
