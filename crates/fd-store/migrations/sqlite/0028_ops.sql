-- /metrics reads the outbox lag (the oldest outgoing message still queued) at every scrape:
-- a partial index keeps that one row away from a scan of every message.
CREATE INDEX messages_queued_by_age ON messages (created_at) WHERE status = 'queued';
