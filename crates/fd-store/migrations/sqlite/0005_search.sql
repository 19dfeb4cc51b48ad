-- Frontdesk schema, version 5: a full-text index for the search `query` and the web UI's
-- search box, replacing a LIKE scan of every row.
-- SQLite: one FTS5 table per searchable object, holding one column `body` (the object's
-- searchable text fields joined by spaces, exactly the text PostgreSQL indexes, so both
-- backends tokenise the same string). `contentless_delete` keeps no copy of the text and
-- deletes by rowid, so the triggers need no old values. The tokenizer keeps diacritics
-- (PostgreSQL's `simple` configuration does too) and indexes 2- and 3-character prefixes,
-- which keeps short prefix queries from scanning the whole term list.

CREATE VIRTUAL TABLE tickets_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
INSERT INTO tickets_fts (rowid, body)
SELECT id, COALESCE(subject, '') || ' ' || COALESCE(content, '') FROM tickets;

-- Most ticket updates (stage, owner, activity) leave the text alone: only a change of the
-- text re-indexes.
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, body)
    VALUES (new.id, COALESCE(new.subject, '') || ' ' || COALESCE(new.content, ''));
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF subject, content ON tickets
WHEN old.subject IS NOT new.subject OR old.content IS NOT new.content BEGIN
    DELETE FROM tickets_fts WHERE rowid = old.id;
    INSERT INTO tickets_fts (rowid, body)
    VALUES (new.id, COALESCE(new.subject, '') || ' ' || COALESCE(new.content, ''));
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    DELETE FROM tickets_fts WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE contacts_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
INSERT INTO contacts_fts (rowid, body)
SELECT id, COALESCE(firstname, '') || ' ' || COALESCE(lastname, '') || ' ' || COALESCE(email, '')
    || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company, '')
FROM contacts;

CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, body)
    VALUES (new.id, COALESCE(new.firstname, '') || ' ' || COALESCE(new.lastname, '') || ' '
        || COALESCE(new.email, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.company, ''));
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF firstname, lastname, email, phone, company ON contacts
WHEN old.firstname IS NOT new.firstname OR old.lastname IS NOT new.lastname OR old.email IS NOT new.email
    OR old.phone IS NOT new.phone OR old.company IS NOT new.company BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.id;
    INSERT INTO contacts_fts (rowid, body)
    VALUES (new.id, COALESCE(new.firstname, '') || ' ' || COALESCE(new.lastname, '') || ' '
        || COALESCE(new.email, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.company, ''));
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE companies_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
INSERT INTO companies_fts (rowid, body)
SELECT id, COALESCE(name, '') || ' ' || COALESCE(domain, '') || ' ' || COALESCE(phone, '') FROM companies;

CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts (rowid, body)
    VALUES (new.id, COALESCE(new.name, '') || ' ' || COALESCE(new.domain, '') || ' ' || COALESCE(new.phone, ''));
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF name, domain, phone ON companies
WHEN old.name IS NOT new.name OR old.domain IS NOT new.domain OR old.phone IS NOT new.phone BEGIN
    DELETE FROM companies_fts WHERE rowid = old.id;
    INSERT INTO companies_fts (rowid, body)
    VALUES (new.id, COALESCE(new.name, '') || ' ' || COALESCE(new.domain, '') || ' ' || COALESCE(new.phone, ''));
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    DELETE FROM companies_fts WHERE rowid = old.id;
END;
