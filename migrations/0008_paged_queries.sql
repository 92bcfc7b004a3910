-- Bridle schema v8: inventory pages sorted in SQL.
--
-- A page of a kind sorted by a column is ordered by (column, id). These indexes hold the current
-- rows in exactly that order, so a page deep into a million grants sorted by subject, target or
-- source is a walk along one index instead of a sort of the table; they still serve the lookups
-- by subject, target, origin and identity the old single-column indexes served.

DROP INDEX grants_origin;
DROP INDEX grants_subject;
DROP INDEX grants_target;
DROP INDEX credentials_identity;

CREATE INDEX grants_origin        ON grants      (origin, id) WHERE valid_to IS NULL;
CREATE INDEX grants_subject       ON grants      (subject, id) WHERE valid_to IS NULL;
CREATE INDEX grants_target        ON grants      (target, id) WHERE valid_to IS NULL;
CREATE INDEX credentials_identity ON credentials (identity, id) WHERE valid_to IS NULL;
