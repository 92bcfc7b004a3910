-- Bridle schema v4: manual attestations.
--
-- An attestation is a statement recorded by hand for a control of the library (`C03`) or a NIST
-- AI RMF subcategory (`GOVERN 1.1`) that no automated check can decide. An attached file is kept
-- in the database by its sha256 (`attestation_files`, one row per distinct content), so the
-- evidence pack can name it and an auditor can check it. Each attestation is written in the same
-- transaction as its audit-log entry. (Version 3 is the brokers' schema.)

CREATE TABLE attestation_files (
    sha256  TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    content BLOB NOT NULL,
    size    INTEGER NOT NULL
) STRICT;

CREATE TABLE attestations (
    id          INTEGER PRIMARY KEY,
    target_kind TEXT    NOT NULL CHECK (target_kind IN ('control', 'subcategory')),
    target      TEXT    NOT NULL CHECK (length(target) > 0),
    statement   TEXT    NOT NULL CHECK (length(statement) > 0),
    at          TEXT    NOT NULL,
    user        TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    file_name   TEXT,
    file_sha256 TEXT REFERENCES attestation_files (sha256),
    audit_seq   INTEGER NOT NULL REFERENCES audit_log (seq),
    CHECK ((file_name IS NULL) = (file_sha256 IS NULL))
) STRICT;
CREATE INDEX attestations_by_target ON attestations (target_kind, target);
