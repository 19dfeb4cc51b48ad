-- Frontdesk schema, version 3: the email channel (issue 4) and the durable job queue.
-- The SQLite and PostgreSQL files differ only in id generation and the bytes type.

-- Inbound mail exactly as it arrived, committed before anything parses it: the SMTP listener
-- answers 250, the IMAP poller marks a message and the mailgate exits 0 only once this row
-- exists. A `mail.ingest` job then parses it; a message that cannot be parsed stays here with
-- status 'failed' and is listed for admins. Nothing is dropped silently.
CREATE TABLE raw_mail (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL CHECK (source IN ('smtp', 'mailgate', 'imap')),
    source_detail TEXT NOT NULL DEFAULT '',
    -- NULL when unknown (IMAP, mailgate); '' is the null reverse-path <>.
    envelope_from TEXT,
    recipients TEXT NOT NULL DEFAULT '[]',
    -- Size as received; when `truncated` only the header section was kept.
    size BIGINT NOT NULL,
    truncated BOOLEAN NOT NULL DEFAULT FALSE,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'ignored', 'failed')),
    outcome TEXT,
    detail TEXT,
    message_id_header TEXT,
    conversation_id BIGINT,
    message_id BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    received_at BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX raw_mail_by_status ON raw_mail (status, id);

-- One row per inbound message identity (its Message-ID, or the content hash when it has
-- none): ingestion is idempotent, and one email sent to two connected addresses makes one
-- ticket. The unique key also serialises two jobs racing on copies of the same mail.
CREATE TABLE mail_inbound_keys (
    message_key TEXT PRIMARY KEY,
    raw_mail_id BIGINT NOT NULL,
    message_id BIGINT,
    conversation_id BIGINT,
    created_at BIGINT NOT NULL
);

-- What mail adds to a message: which signal threaded it (HD-07), the quoted history and
-- signature split off its new text, notices for the agent, and for outgoing mail whether it
-- is automatic (Auto-Submitted: auto-replied).
CREATE TABLE mail_message_meta (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    raw_mail_id BIGINT,
    thread_signal TEXT,
    quoted_text TEXT,
    signature TEXT,
    notices TEXT NOT NULL DEFAULT '[]',
    automation TEXT,
    auto_submitted BOOLEAN NOT NULL DEFAULT FALSE,
    blocked_remote_images BIGINT NOT NULL DEFAULT 0
);

-- The unguessable per-conversation reply address (`support+<token>@…`) put in Reply-To.
CREATE TABLE mail_reply_tokens (
    token TEXT PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX mail_reply_tokens_by_conversation ON mail_reply_tokens (conversation_id);

-- Attachment bytes, content-addressed by SHA-256 and so stored once however often they
-- arrive. In the database rather than on a node's disk, so every node can serve them.
CREATE TABLE mail_blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    content BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- Per connected address: send an acknowledgement for new tickets (automatic mail).
CREATE TABLE mail_address_settings (
    address TEXT PRIMARY KEY,
    auto_acknowledge BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);

-- RFC 3834 §2: automatic replies to one sender are rate-limited.
CREATE TABLE mail_autoreply_log (
    address TEXT PRIMARY KEY,
    last_sent_at BIGINT NOT NULL
);

-- IMAP: the highest UID stored per mailbox, valid only with its UIDVALIDITY (RFC 9051 §2.3.1.1).
CREATE TABLE imap_checkpoints (
    account TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL,
    last_uid BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The durable job queue. Workers claim due jobs with a lease (locked_by/locked_until): on
-- PostgreSQL with FOR UPDATE SKIP LOCKED so nodes never take the same job, on SQLite inside
-- BEGIN IMMEDIATE. A job whose worker died is claimed again once its lease expires; jobs are
-- idempotent, and a finished job is deleted in the same transaction as its effect.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('pending', 'failed')),
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at, id);
