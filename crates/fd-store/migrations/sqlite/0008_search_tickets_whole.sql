-- Frontdesk schema, version 8: a ticket's search document is the whole ticket, folded.
--
-- The index entry of a ticket now holds its subject and description, the text of every
-- message of its conversations, every comment on it or its conversations, its associated
-- contacts' names and email addresses and its associated companies' names. All indexed text
-- (contacts and companies too) is folded by fd-domain's `search::fold` (accents and case) when
-- fd-store's `search_index` writes it, and queries are folded the same way, so no accent
-- handling is left to the tokenizer.
--
-- The full-text tables are rebuilt: every record is queued in `search_backfill` here and the
-- store indexes them in batches right after migrating (`Db::migrate`).

DROP TABLE tickets_fts;
DROP TABLE contacts_fts;
DROP TABLE companies_fts;

CREATE VIRTUAL TABLE tickets_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
CREATE VIRTUAL TABLE contacts_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);
CREATE VIRTUAL TABLE companies_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '2 3'
);

CREATE TABLE search_backfill (
    kind TEXT NOT NULL,
    id BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
INSERT INTO search_backfill (kind, id) SELECT 'ticket', id FROM tickets;
INSERT INTO search_backfill (kind, id) SELECT 'contact', id FROM contacts;
INSERT INTO search_backfill (kind, id) SELECT 'company', id FROM companies;

-- A message, comment or association changes the document of the ticket it belongs to.
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', c.ticket_id, 1 FROM conversations c
    WHERE c.id = new.conversation_id AND c.ticket_id IS NOT NULL;
END;
CREATE TRIGGER messages_search_update AFTER UPDATE OF text, sender_name ON messages
WHEN old.text IS NOT new.text OR old.sender_name IS NOT new.sender_name BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', c.ticket_id, 1 FROM conversations c
    WHERE c.id = new.conversation_id AND c.ticket_id IS NOT NULL;
END;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', c.ticket_id, 1 FROM conversations c
    WHERE c.id = old.conversation_id AND c.ticket_id IS NOT NULL;
END;
CREATE TRIGGER conversations_search_ticket AFTER UPDATE OF ticket_id ON conversations
WHEN old.ticket_id IS NOT new.ticket_id BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', old.ticket_id, 1 WHERE old.ticket_id IS NOT NULL;
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', new.ticket_id, 1 WHERE new.ticket_id IS NOT NULL;
END;

CREATE TRIGGER comments_search_insert AFTER INSERT ON comments BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', new.ticket_id, 1 WHERE new.ticket_id IS NOT NULL
    UNION SELECT 'ticket', c.ticket_id, 1 FROM conversations c
    WHERE c.id = new.conversation_id AND c.ticket_id IS NOT NULL;
END;
CREATE TRIGGER comments_search_update AFTER UPDATE OF body ON comments
WHEN old.body IS NOT new.body BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', new.ticket_id, 1 WHERE new.ticket_id IS NOT NULL
    UNION SELECT 'ticket', c.ticket_id, 1 FROM conversations c
    WHERE c.id = new.conversation_id AND c.ticket_id IS NOT NULL;
END;
CREATE TRIGGER comments_search_delete AFTER DELETE ON comments BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', old.ticket_id, 1 WHERE old.ticket_id IS NOT NULL
    UNION SELECT 'ticket', c.ticket_id, 1 FROM conversations c
    WHERE c.id = old.conversation_id AND c.ticket_id IS NOT NULL;
END;

CREATE TRIGGER associations_search_insert AFTER INSERT ON associations
WHEN new.from_type = 'ticket' AND new.to_type IN ('contact', 'company') BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('ticket', new.from_id, 1);
END;
CREATE TRIGGER associations_search_delete AFTER DELETE ON associations
WHEN old.from_type = 'ticket' AND old.to_type IN ('contact', 'company') BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index) VALUES ('ticket', old.from_id, 1);
END;

-- A contact's or company's new name re-indexes its tickets too.
CREATE TRIGGER contacts_search_tickets AFTER UPDATE OF firstname, lastname, email ON contacts
WHEN old.firstname IS NOT new.firstname OR old.lastname IS NOT new.lastname OR old.email IS NOT new.email BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', a.from_id, 1 FROM associations a
    WHERE a.to_type = 'contact' AND a.to_id = new.id AND a.from_type = 'ticket';
END;
CREATE TRIGGER companies_search_tickets AFTER UPDATE OF name ON companies
WHEN old.name IS NOT new.name BEGIN
    INSERT OR IGNORE INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', a.from_id, 1 FROM associations a
    WHERE a.to_type = 'company' AND a.to_id = new.id AND a.from_type = 'ticket';
END;
