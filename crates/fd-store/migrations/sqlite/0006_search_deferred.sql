-- Frontdesk schema, version 6: the full-text index is brought up to date at the end of each
-- write transaction instead of inside every statement that changes searchable text.
--
-- Why: FTS5 flushes its pending changes to a new index segment whenever a later statement of
-- the same transaction opens a statement savepoint (fts5SavepointMethod), so a transaction
-- that creates sixteen tickets wrote sixteen segments and then merged them. Triggers now only
-- note which records changed, in `search_dirty`; the store's commit (one place, fd-store's
-- `Tx::commit`) re-indexes those records in the same transaction, so the index still never
-- drifts from the data.
--
-- `in_index` says whether the record was in the index when the transaction first touched it
-- (a record inserted and then edited in one transaction is not there yet).

DROP TRIGGER tickets_fts_insert;
DROP TRIGGER tickets_fts_update;
DROP TRIGGER tickets_fts_delete;
DROP TRIGGER contacts_fts_insert;
DROP TRIGGER contacts_fts_update;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER companies_fts_insert;
DROP TRIGGER companies_fts_update;
DROP TRIGGER companies_fts_delete;

CREATE TABLE search_dirty (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    in_index INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('ticket', new.id, 0);
END;
CREATE TRIGGER tickets_search_update AFTER UPDATE OF subject, content ON tickets
WHEN old.subject IS NOT new.subject OR old.content IS NOT new.content BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('ticket', old.id, 1);
END;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('ticket', old.id, 1);
END;

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('contact', new.id, 0);
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF firstname, lastname, email, phone, company ON contacts
WHEN old.firstname IS NOT new.firstname OR old.lastname IS NOT new.lastname OR old.email IS NOT new.email
    OR old.phone IS NOT new.phone OR old.company IS NOT new.company BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('contact', old.id, 1);
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('contact', old.id, 1);
END;

CREATE TRIGGER companies_search_insert AFTER INSERT ON companies BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('company', new.id, 0);
END;
CREATE TRIGGER companies_search_update AFTER UPDATE OF name, domain, phone ON companies
WHEN old.name IS NOT new.name OR old.domain IS NOT new.domain OR old.phone IS NOT new.phone BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('company', old.id, 1);
END;
CREATE TRIGGER companies_search_delete AFTER DELETE ON companies BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('company', old.id, 1);
END;
