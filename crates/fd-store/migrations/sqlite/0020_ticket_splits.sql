-- Ticket splits (issue 15 item 3): one row per ticket opened by splitting messages off a
-- conversation of another ticket. It links the two tickets (each page names the other) and
-- is what "undo split" reads: the messages that moved, by id, from which conversation to
-- which. Undoing the split moves them back and deletes the new ticket; anything else that
-- reached the new ticket moves to the source ticket first.
CREATE TABLE ticket_splits (
    new_ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    source_ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    source_conversation_id BIGINT NOT NULL,
    new_conversation_id BIGINT NOT NULL,
    actor_user_id BIGINT REFERENCES users (id),
    split_at BIGINT NOT NULL,
    message_ids TEXT NOT NULL
);
CREATE INDEX ticket_splits_by_source ON ticket_splits (source_ticket_id);
