-- Frontdesk schema, version 30: HubSpot-compatible webhooks (issue 17, item 4).
--
-- A developer app is what HubSpot's webhooks v3 API is addressed to: its developer API key
-- (the `hapikey` of the management API; only its SHA-256 is stored) and its client secret
-- (kept as given: every delivery is signed with it). An app has at most one settings row
-- (the target URL and how many requests may be in flight) and any number of subscriptions.
CREATE TABLE webhook_apps (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    developer_key_hash TEXT NOT NULL UNIQUE,
    client_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE webhook_settings (
    app_id BIGINT PRIMARY KEY REFERENCES webhook_apps (id) ON DELETE CASCADE,
    target_url TEXT NOT NULL,
    max_concurrent BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE webhook_subscriptions (
    id INTEGER PRIMARY KEY,
    app_id BIGINT NOT NULL REFERENCES webhook_apps (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    property_name TEXT,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_by_app ON webhook_subscriptions (app_id, id);

-- The outbox: one row per event and subscription, written by the transaction of the change
-- it reports (so a change that rolls back reports nothing, and a committed one is reported
-- even if the process dies before sending). Its id is the event's `eventId`, the same on
-- every attempt. `body` is the event without `eventId` and `attemptNumber`. A runner leases
-- due rows (`lease_until`) while it sends them.
CREATE TABLE webhook_events (
    -- AUTOINCREMENT: an eventId is never handed out twice, even after pruning the newest.
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id BIGINT NOT NULL REFERENCES webhook_apps (id) ON DELETE CASCADE,
    subscription_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    body TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    last_attempt_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_events_by_app ON webhook_events (app_id, id);
CREATE INDEX webhook_events_finished ON webhook_events (finished_at) WHERE state <> 'pending';

-- The delivery log: one row per request sent (Settings › Webhooks shows it).
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    app_id BIGINT NOT NULL REFERENCES webhook_apps (id) ON DELETE CASCADE,
    event_ids TEXT NOT NULL,
    attempt_number BIGINT NOT NULL,
    status BIGINT,
    error TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_by_app ON webhook_deliveries (app_id, id);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (started_at);
