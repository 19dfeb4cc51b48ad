-- Frontdesk schema, version 2: the HubSpot-compatible API (issue 3).
-- The SQLite and PostgreSQL files differ only in id generation and trigger syntax.

-- Private-app-style bearer tokens. Only the SHA-256 of a token is stored: tokens are 190 bits
-- of randomness, so a fast hash is enough and a leaked table reveals no usable token.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The first characters of the token, so an admin can tell tokens apart.
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

-- User-defined association labels (associations v4). A label has one type id per direction;
-- `inverse_type_id` names the other one. Type ids start above 1000, clear of HubSpot's own.
CREATE TABLE association_labels (
    type_id BIGINT PRIMARY KEY,
    from_type TEXT NOT NULL,
    to_type TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    inverse_type_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX association_labels_by_pair ON association_labels (from_type, to_type);

-- A counter that lets a node keep token→user resolutions in memory: a cached resolution is
-- used only while the counter is unchanged. Triggers bump it on any change to tokens, users
-- or team membership, so a revocation or a changed permission takes effect at once.
CREATE TABLE auth_version (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO auth_version (id, version) VALUES (1, 1);

CREATE TRIGGER tokens_auth_ins AFTER INSERT ON api_tokens BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tokens_auth_upd AFTER UPDATE ON api_tokens BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER tokens_auth_del AFTER DELETE ON api_tokens BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_auth_ins AFTER INSERT ON users BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_auth_upd AFTER UPDATE ON users BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_auth_del AFTER DELETE ON users BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER members_auth_ins AFTER INSERT ON team_members BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER members_auth_upd AFTER UPDATE ON team_members BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER members_auth_del AFTER DELETE ON team_members BEGIN UPDATE auth_version SET version = version + 1 WHERE id = 1; END;
