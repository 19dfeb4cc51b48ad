-- Automation rules (issue 16, item 3; HD-20).
--
-- A rule is fd-domain's `automation::Rule`: its trigger, conditions and actions are stored as
-- the JSON of those types (validated before they are stored), in the order of `position`.
-- A built-in rule has a `builtin` key: it may be turned off, never deleted. Each rule keeps
-- what it did last (when, on which ticket, what) for the settings page, and every run or
-- refusal is a row of `automation_runs`.
CREATE TABLE automation_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    position BIGINT NOT NULL,
    trigger_json TEXT NOT NULL,
    conditions_json TEXT NOT NULL,
    actions_json TEXT NOT NULL,
    builtin TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_run_at BIGINT,
    last_ticket_id BIGINT,
    last_outcome TEXT
);
CREATE INDEX automation_rules_by_position ON automation_rules (position, id);

-- The run log: one row per rule run on a ticket (what it did, or why an action was refused).
CREATE TABLE automation_runs (
    id INTEGER PRIMARY KEY,
    rule_id BIGINT NOT NULL REFERENCES automation_rules (id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    refused BOOLEAN NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX automation_runs_by_rule ON automation_runs (rule_id, at);

-- Time triggers fire once per ticket per occurrence of their event (the event's time).
CREATE TABLE automation_timed_fired (
    rule_id BIGINT NOT NULL REFERENCES automation_rules (id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL,
    fired_at BIGINT NOT NULL,
    PRIMARY KEY (rule_id, ticket_id, occurred_at)
);

-- HD-20's rule, built in: on for a new installation (no tickets yet), present but off for
-- an installation that ran without it until now, so its behaviour does not change unasked.
INSERT INTO automation_rules (name, enabled, position, trigger_json, conditions_json, actions_json, builtin, created_at, updated_at)
SELECT 'Email sent to the customer: Waiting on contact',
       NOT EXISTS (SELECT 1 FROM tickets),
       0,
       '{"kind":"email_to_customer"}',
       '[]',
       '[{"kind":"set_stage_named","label":"Waiting on contact"}]',
       'hd_20_waiting_on_contact',
       0, 0;
