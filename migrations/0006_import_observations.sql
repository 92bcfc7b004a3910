-- Bridle schema v6: the facts of imported broker files.
--
-- `bridle import --format spire|kubernetes` maps a file into estate entities and, like a broker
-- sync, into facts the estate model has no field for (SVID TTLs, selectors, which binding gave a
-- grant). `import_observations` keeps them per import source: an import of a source replaces
-- that source's rows in the same transaction as its entities, snapshot and audit entry, so they
-- always describe what the source's latest snapshot holds. `snapshot_id` names that snapshot.
-- Facts are metadata only, never a secret value.

CREATE TABLE import_observations (
    source      TEXT    NOT NULL CHECK (length(source) > 0),
    kind        TEXT    NOT NULL CHECK (length(kind) > 0),
    id          TEXT    NOT NULL,
    facts       TEXT    NOT NULL CHECK (json_valid(facts)), -- JSON object with sorted keys
    snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
    PRIMARY KEY (source, kind, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX import_observations_by_kind ON import_observations (kind, source);
