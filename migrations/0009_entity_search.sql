-- Bridle schema v9: text search over the ids and names of the current entities.
--
-- One FTS5 table with the trigram tokenizer (case-insensitive), so a search for any piece of
-- three or more characters of an id or a name is an index lookup rather than a scan of every
-- table. It holds exactly the current rows: an import deletes the rows it closes and adds the
-- rows it inserts, in its own transaction. A row's `rowid` is its table's `row_id` times 8 plus
-- the kind's number (agents 1, identities 2, credentials 3, resources 4, tools 5, grants 6), so
-- closing a row finds its text without a lookup table.

CREATE VIRTUAL TABLE entity_text USING fts5 (
    kind UNINDEXED,
    id,
    name,
    tokenize = 'trigram case_sensitive 0'
);

INSERT INTO entity_text (rowid, kind, id, name)
    SELECT row_id * 8 + 1, 'agent', id, name FROM agents WHERE valid_to IS NULL;
INSERT INTO entity_text (rowid, kind, id, name)
    SELECT row_id * 8 + 2, 'identity', id, name FROM identities WHERE valid_to IS NULL;
INSERT INTO entity_text (rowid, kind, id, name)
    SELECT row_id * 8 + 3, 'credential', id, NULL FROM credentials WHERE valid_to IS NULL;
INSERT INTO entity_text (rowid, kind, id, name)
    SELECT row_id * 8 + 4, 'resource', id, name FROM resources WHERE valid_to IS NULL;
INSERT INTO entity_text (rowid, kind, id, name)
    SELECT row_id * 8 + 5, 'tool', id, name FROM tools WHERE valid_to IS NULL;
INSERT INTO entity_text (rowid, kind, id, name)
    SELECT row_id * 8 + 6, 'grant', id, NULL FROM grants WHERE valid_to IS NULL;
