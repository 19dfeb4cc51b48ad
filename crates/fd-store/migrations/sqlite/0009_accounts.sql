-- Account security (issue 13, item 9).
-- A password an administrator set (a reset, or the one printed on first start) must be
-- changed by its user before anything else in the web UI.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
-- Optional TOTP second factor (RFC 6238): the shared secret (base32), whether it is
-- confirmed and in use, and the last time step a code was accepted for (no replay).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

-- Single-use recovery codes of the second factor, stored as SHA-256 hashes.
CREATE TABLE totp_recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in whose password was right and that waits for the second factor: the browser
-- holds the random token (its SHA-256 is stored); the session is created only after the code.
CREATE TABLE sign_in_challenges (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- What the profile's session list shows: the browser (a summary of its User-Agent) and the
-- client address it signed in from.
ALTER TABLE ui_sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE ui_sessions ADD COLUMN client_addr TEXT NOT NULL DEFAULT '';
