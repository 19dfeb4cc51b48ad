-- Issue 13, item 8 (layout). Each user's own time zone: every timestamp the UI shows is
-- rendered in it (an IANA name, checked by fd-domain's `local_time` before it is stored).
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- When an agent last opened a ticket or a conversation: the lists show a record as unread
-- for that agent while it holds a customer message newer than this. One row per agent and
-- record, rewritten on each opening; deleted with the user, and by the purge of the record.
CREATE TABLE agent_reads (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    object_type TEXT NOT NULL CHECK (object_type IN ('ticket', 'conversation')),
    object_id BIGINT NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, object_type, object_id)
);
