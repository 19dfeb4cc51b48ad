-- Follow and notify (issue 15, item 5): every activity on a ticket notifies its owner and
-- followers. A notification keeps a plain-text excerpt of what happened and when it was
-- emailed (immediately or in a digest), so a digest gathers only what was not sent yet.
ALTER TABLE notifications ADD COLUMN excerpt TEXT;
ALTER TABLE notifications ADD COLUMN emailed_at BIGINT;
CREATE INDEX notifications_unemailed ON notifications (user_id) WHERE emailed_at IS NULL AND read_at IS NULL;

-- Per-user email preference for notifications (no row: the default, immediately) and when
-- the user's last digest went out.
CREATE TABLE notification_prefs (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email_mode TEXT NOT NULL CHECK (email_mode IN ('off', 'immediately', 'hourly', 'daily')),
    last_digest_at BIGINT
);

-- Follow-up tickets (issue 15, item 9): a customer's reply to a ticket closed longer than
-- this many days opens a new ticket linked to the old one (0: always reopen, INB-11).
ALTER TABLE account_settings ADD COLUMN follow_up_days BIGINT NOT NULL DEFAULT 7;

-- The link from a follow-up ticket to the ticket it follows up.
CREATE TABLE ticket_follow_ups (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    follow_up_of BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX ticket_follow_ups_by_old ON ticket_follow_ups (follow_up_of);
