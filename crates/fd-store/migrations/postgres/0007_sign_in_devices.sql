-- Browsers that have signed in to an account before (issue 11, finding 7). The browser keeps a
-- random token in a long-lived cookie; only its SHA-256 is stored, once per account signed in
-- from it. Failed sign-ins from a known browser are counted against that browser alone, so a
-- stranger's failures cannot lock the account's own browsers out ("device cookies", OWASP).
CREATE TABLE sign_in_devices (
    token_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (token_hash, user_id)
);
CREATE INDEX sign_in_devices_by_last_use ON sign_in_devices (last_used_at);
