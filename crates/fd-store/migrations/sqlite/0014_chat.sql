-- Frontdesk schema, version 15: live chat (issue 14, item 3).
--
-- A chat channel belongs to a team and opens its conversations in the help desk (with a
-- ticket, HD-06) or the inbox. A visitor is known only by an unguessable token kept in their
-- browser: only its SHA-256 is stored. A visitor's session points at the conversation their
-- first message started; `by_email` says the visitor left an address while nobody was
-- available, so replies go by email; `visitor_seen_message_id` is the read state the agent sees.
CREATE TABLE chat_channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    team_id BIGINT NOT NULL REFERENCES teams (id),
    workspace TEXT NOT NULL CHECK (workspace IN ('inbox', 'help_desk')),
    created_at BIGINT NOT NULL,
    archived_at BIGINT
);

CREATE TABLE chat_sessions (
    id INTEGER PRIMARY KEY,
    channel_id BIGINT NOT NULL REFERENCES chat_channels (id),
    token_hash TEXT NOT NULL UNIQUE,
    conversation_id BIGINT REFERENCES conversations (id),
    by_email BOOLEAN NOT NULL DEFAULT FALSE,
    visitor_seen_message_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX chat_sessions_by_conversation ON chat_sessions (conversation_id);

-- HubSpot's availability status per user (`hs_availability_status`): chat asks whether anyone
-- of the channel's team is available. No row reads as away.
CREATE TABLE user_availability (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('available', 'away')),
    updated_at BIGINT NOT NULL
);

-- HubSpot's visitor identification tokens (12 hours): a page that knows its visitor passes
-- one to the widget, and the conversation becomes that contact's.
CREATE TABLE visitor_identification_tokens (
    token_hash TEXT PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
