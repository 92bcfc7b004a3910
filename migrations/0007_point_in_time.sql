-- Bridle schema v7: the register and attestations as they stood at any time.
--
-- `risk_versions` holds a copy of a risk's whole row after every change (add, update, accept,
-- close, reopen, comment), with the time of the change and its audit entry, so an evidence pack
-- for an earlier `--at` shows each risk as it was then. Risks that existed before this schema
-- get one version: their row as it is now, from the time of their last change (their earlier
-- states were not kept).
--
-- `attestations.expires`: after it, an attestation no longer counts (NULL: it does not expire).

CREATE TABLE risk_versions (
    risk_id             INTEGER NOT NULL REFERENCES risks (id),
    at                  TEXT    NOT NULL,
    audit_seq           INTEGER NOT NULL REFERENCES audit_log (seq),
    title               TEXT    NOT NULL,
    description         TEXT    NOT NULL,
    categories          TEXT    NOT NULL,
    likelihood          INTEGER NOT NULL,
    impact              INTEGER NOT NULL,
    residual_likelihood INTEGER,
    residual_impact     INTEGER,
    owner               TEXT,
    treatment           TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    due                 TEXT,
    accepted_by         TEXT,
    accepted_reason     TEXT,
    accepted_at         TEXT,
    acceptance_expires  TEXT,
    findings            TEXT    NOT NULL,
    controls            TEXT    NOT NULL,
    agents              TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    PRIMARY KEY (risk_id, audit_seq)
) STRICT;

INSERT INTO risk_versions
SELECT id, updated_at,
       (SELECT max(audit_seq) FROM risk_events WHERE risk_events.risk_id = risks.id),
       title, description, categories, likelihood, impact, residual_likelihood, residual_impact,
       owner, treatment, status, due, accepted_by, accepted_reason, accepted_at,
       acceptance_expires, findings, controls, agents, created_at, updated_at
FROM risks
WHERE EXISTS (SELECT 1 FROM risk_events WHERE risk_events.risk_id = risks.id);

ALTER TABLE attestations ADD COLUMN expires TEXT;
