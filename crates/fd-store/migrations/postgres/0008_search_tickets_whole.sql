-- Frontdesk schema, version 8: a ticket's search document is the whole ticket, folded.
--
-- The search vector of a ticket now holds its subject and description, the text of every
-- message of its conversations, every comment on it or its conversations, its associated
-- contacts' names and email addresses and its associated companies' names. All indexed text
-- (contacts and companies too) is folded by fd-domain's `search::fold` (accents and case),
-- and queries are folded the same way: one folding for both backends.
--
-- A generated column cannot read other tables or call Rust, so `search_vector` becomes a
-- plain column written by fd-store's `search_index` at the end of each write transaction,
-- from the records noted in `search_dirty` by the triggers below (as SQLite does since
-- version 6). Every record is queued in `search_backfill` here; the store indexes them in
-- batches right after migrating (`Db::migrate`).

DROP INDEX tickets_search;
ALTER TABLE tickets DROP COLUMN search_vector;
ALTER TABLE tickets ADD COLUMN search_vector tsvector;
CREATE INDEX tickets_search ON tickets USING gin (search_vector);

DROP INDEX contacts_search;
ALTER TABLE contacts DROP COLUMN search_vector;
ALTER TABLE contacts ADD COLUMN search_vector tsvector;
CREATE INDEX contacts_search ON contacts USING gin (search_vector);

DROP INDEX companies_search;
ALTER TABLE companies DROP COLUMN search_vector;
ALTER TABLE companies ADD COLUMN search_vector tsvector;
CREATE INDEX companies_search ON companies USING gin (search_vector);

-- Rows are keyed by the transaction that noted them, so concurrent writers never wait on
-- each other's notes and each commit indexes only its own (SQLite has one writer at a time).
CREATE TABLE search_dirty (
    xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind TEXT NOT NULL,
    id BIGINT NOT NULL,
    in_index BOOLEAN NOT NULL,
    PRIMARY KEY (xact, kind, id)
);
CREATE TABLE search_backfill (
    kind TEXT NOT NULL,
    id BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
INSERT INTO search_backfill (kind, id) SELECT 'ticket', id FROM tickets;
INSERT INTO search_backfill (kind, id) SELECT 'contact', id FROM contacts;
INSERT INTO search_backfill (kind, id) SELECT 'company', id FROM companies;

CREATE FUNCTION fd_search_dirty(k TEXT, record BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO search_dirty (kind, id, in_index) VALUES (k, record, TRUE)
    ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION fd_search_dirty_ticket_of_conversation(conversation BIGINT) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO search_dirty (kind, id, in_index)
    SELECT 'ticket', c.ticket_id, TRUE FROM conversations c
    WHERE c.id = conversation AND c.ticket_id IS NOT NULL
    ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION fd_search_note() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'tickets' THEN
        PERFORM fd_search_dirty('ticket', r.id);
    ELSIF TG_TABLE_NAME = 'contacts' THEN
        PERFORM fd_search_dirty('contact', r.id);
        IF TG_OP = 'UPDATE' THEN
            INSERT INTO search_dirty (kind, id, in_index)
            SELECT 'ticket', a.from_id, TRUE FROM associations a
            WHERE a.to_type = 'contact' AND a.to_id = r.id AND a.from_type = 'ticket'
            ON CONFLICT DO NOTHING;
        END IF;
    ELSIF TG_TABLE_NAME = 'companies' THEN
        PERFORM fd_search_dirty('company', r.id);
        IF TG_OP = 'UPDATE' THEN
            INSERT INTO search_dirty (kind, id, in_index)
            SELECT 'ticket', a.from_id, TRUE FROM associations a
            WHERE a.to_type = 'company' AND a.to_id = r.id AND a.from_type = 'ticket'
            ON CONFLICT DO NOTHING;
        END IF;
    ELSIF TG_TABLE_NAME = 'messages' THEN
        PERFORM fd_search_dirty_ticket_of_conversation(r.conversation_id);
    ELSIF TG_TABLE_NAME = 'comments' THEN
        IF r.ticket_id IS NOT NULL THEN
            PERFORM fd_search_dirty('ticket', r.ticket_id);
        END IF;
        IF r.conversation_id IS NOT NULL THEN
            PERFORM fd_search_dirty_ticket_of_conversation(r.conversation_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'conversations' THEN
        IF OLD.ticket_id IS NOT NULL THEN
            PERFORM fd_search_dirty('ticket', OLD.ticket_id);
        END IF;
        IF NEW.ticket_id IS NOT NULL THEN
            PERFORM fd_search_dirty('ticket', NEW.ticket_id);
        END IF;
    ELSIF TG_TABLE_NAME = 'associations' THEN
        IF r.from_type = 'ticket' AND r.to_type IN ('contact', 'company') THEN
            PERFORM fd_search_dirty('ticket', r.from_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Most ticket updates (stage, owner, activity) leave the text alone: only a change of the
-- text re-indexes.
CREATE TRIGGER tickets_search_insert AFTER INSERT OR DELETE ON tickets
FOR EACH ROW EXECUTE FUNCTION fd_search_note();
CREATE TRIGGER tickets_search_update AFTER UPDATE OF subject, content ON tickets
FOR EACH ROW WHEN (OLD.subject IS DISTINCT FROM NEW.subject OR OLD.content IS DISTINCT FROM NEW.content)
EXECUTE FUNCTION fd_search_note();

CREATE TRIGGER contacts_search_insert AFTER INSERT OR DELETE ON contacts
FOR EACH ROW EXECUTE FUNCTION fd_search_note();
CREATE TRIGGER contacts_search_update AFTER UPDATE OF firstname, lastname, email, phone, company ON contacts
FOR EACH ROW WHEN (OLD.firstname IS DISTINCT FROM NEW.firstname OR OLD.lastname IS DISTINCT FROM NEW.lastname
    OR OLD.email IS DISTINCT FROM NEW.email OR OLD.phone IS DISTINCT FROM NEW.phone
    OR OLD.company IS DISTINCT FROM NEW.company)
EXECUTE FUNCTION fd_search_note();

CREATE TRIGGER companies_search_insert AFTER INSERT OR DELETE ON companies
FOR EACH ROW EXECUTE FUNCTION fd_search_note();
CREATE TRIGGER companies_search_update AFTER UPDATE OF name, domain, phone ON companies
FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.domain IS DISTINCT FROM NEW.domain
    OR OLD.phone IS DISTINCT FROM NEW.phone)
EXECUTE FUNCTION fd_search_note();

CREATE TRIGGER messages_search AFTER INSERT OR DELETE ON messages
FOR EACH ROW EXECUTE FUNCTION fd_search_note();
CREATE TRIGGER messages_search_update AFTER UPDATE OF text, sender_name ON messages
FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.sender_name IS DISTINCT FROM NEW.sender_name)
EXECUTE FUNCTION fd_search_note();

CREATE TRIGGER comments_search AFTER INSERT OR DELETE ON comments
FOR EACH ROW EXECUTE FUNCTION fd_search_note();
CREATE TRIGGER comments_search_update AFTER UPDATE OF body ON comments
FOR EACH ROW WHEN (OLD.body IS DISTINCT FROM NEW.body)
EXECUTE FUNCTION fd_search_note();

CREATE TRIGGER conversations_search_ticket AFTER UPDATE OF ticket_id ON conversations
FOR EACH ROW WHEN (OLD.ticket_id IS DISTINCT FROM NEW.ticket_id)
EXECUTE FUNCTION fd_search_note();

CREATE TRIGGER associations_search AFTER INSERT OR DELETE ON associations
FOR EACH ROW EXECUTE FUNCTION fd_search_note();
