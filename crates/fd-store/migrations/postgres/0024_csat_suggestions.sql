-- CSAT (issue 16, item 7): an optional one-click rating email when a ticket closes. Off by
-- default; the subject and the text before the links are the account's to word.
ALTER TABLE account_settings ADD COLUMN csat_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE account_settings ADD COLUMN csat_subject TEXT NOT NULL DEFAULT 'How did we do?';
ALTER TABLE account_settings ADD COLUMN csat_intro TEXT NOT NULL DEFAULT 'Your request has been closed. How would you rate the help you received? One click is enough.';

-- One survey per ticket (queued at its first close; re-closing never sends another). The
-- token is issued when the email is built and only its SHA-256 is kept, so the database
-- alone cannot produce a working link. The rating may change until the link expires.
CREATE TABLE csat_surveys (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    token_hash TEXT UNIQUE,
    sent_to TEXT,
    queued_at BIGINT NOT NULL,
    sent_at BIGINT,
    expires_at BIGINT,
    rating TEXT CHECK (rating IN ('good', 'bad')),
    comment TEXT,
    rated_at BIGINT
);
CREATE INDEX csat_surveys_by_rated ON csat_surveys (rated_at) WHERE rating IS NOT NULL;

-- The rating on the ticket, read-only properties the API returns and searches like any other.
INSERT INTO property_definitions (object_type, name, label, type, field_type, group_name, description, options, hubspot_defined, read_only, display_order, form_field, created_at, updated_at) VALUES
    ('tickets', 'frontdesk_csat_rating', 'Customer satisfaction', 'enumeration', 'select', 'ticketinformation', 'The customer''s one-click rating after the ticket closed', '[{"value":"good","label":"Good","display_order":0,"hidden":false},{"value":"bad","label":"Bad","display_order":1,"hidden":false}]', FALSE, TRUE, 90, FALSE, 0, 0),
    ('tickets', 'frontdesk_csat_comment', 'Customer satisfaction comment', 'string', 'textarea', 'ticketinformation', 'What the customer wrote with the rating', '[]', FALSE, TRUE, 91, FALSE, 0, 0),
    ('tickets', 'frontdesk_csat_rated_at', 'Customer satisfaction date', 'datetime', 'date', 'ticketinformation', 'When the customer rated', '[]', FALSE, TRUE, 92, FALSE, 0, 0);
UPDATE account_settings SET config_version = config_version + 1;
