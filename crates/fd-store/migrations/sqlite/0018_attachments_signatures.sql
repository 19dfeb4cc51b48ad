-- Outgoing attachments and signatures (issue 15, items 7 and 8).
--
-- `files`: what an agent uploaded (the UI's picker, drop or paste, or the Files API),
-- HubSpot's file object. The bytes live in `mail_blobs` under their SHA-256, like received
-- attachments, so every node serves them. Until a reply carries it (`message_id`), a file
-- belongs to its uploader alone (HD-09): nobody else may attach or read it.
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    owner_user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    message_id BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX files_by_owner ON files (owner_user_id, created_at);
CREATE INDEX files_by_message ON files (message_id);

-- Size limits of outgoing attachments, account settings (defaults: 10 MiB a file, 25 MiB a
-- message, like common mail providers').
ALTER TABLE account_settings ADD COLUMN max_attachment_bytes BIGINT NOT NULL DEFAULT 10485760;
ALTER TABLE account_settings ADD COLUMN max_message_attachments_bytes BIGINT NOT NULL DEFAULT 26214400;

-- Signatures (item 8): an agent's (their profile) and a team address's (the address
-- settings), plain text with template variables. No row: none.
CREATE TABLE signatures (
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    address TEXT,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (address IS NULL))
);
CREATE UNIQUE INDEX signatures_by_user ON signatures (user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX signatures_by_address ON signatures (address) WHERE address IS NOT NULL;
