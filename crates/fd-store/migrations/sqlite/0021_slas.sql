-- Service level agreements (issue 16 item 1). A policy names its scope (pipeline, priorities,
-- team: the most specific match applies), its goals in milliseconds of counted time, its
-- calendar (IANA zone, weekly hours in their canonical spelling, '' for around the clock, and
-- holidays as a JSON list of YYYY-MM-DD) and the stages in which its clocks pause.
CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    pipeline_id BIGINT REFERENCES pipelines (id) ON DELETE CASCADE,
    priorities TEXT NOT NULL DEFAULT '[]',
    team_id BIGINT REFERENCES teams (id) ON DELETE CASCADE,
    first_response_ms BIGINT NOT NULL,
    next_response_ms BIGINT,
    time_to_close_ms BIGINT,
    hours TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    holidays TEXT NOT NULL DEFAULT '[]',
    pause_stage_ids TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A ticket's derived SLA state, recomputed from its activity in the transaction that changes
-- it (and for every open ticket when a policy changes), so lists sort and filter on columns.
-- Each clock: status (running, due_soon, breached, paused, met, met_late; NULL: no such clock)
-- and due time. `relevant_*` is the clock a list shows; `next_check_at` is when a running
-- clock next changes status by itself (the sweep's index); `notified` the clock:status pairs
-- already notified, so each is notified once.
CREATE TABLE ticket_sla (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    policy_id BIGINT REFERENCES sla_policies (id) ON DELETE SET NULL,
    first_agent_reply_at BIGINT,
    first_response_status TEXT,
    first_response_due BIGINT,
    next_response_status TEXT,
    next_response_due BIGINT,
    time_to_close_status TEXT,
    time_to_close_due BIGINT,
    relevant_status TEXT,
    relevant_due BIGINT,
    paused_since BIGINT,
    next_check_at BIGINT,
    notified TEXT NOT NULL DEFAULT '',
    computed_at BIGINT NOT NULL
);
CREATE INDEX ticket_sla_by_relevant ON ticket_sla (relevant_status, relevant_due);
CREATE INDEX ticket_sla_by_next_check ON ticket_sla (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX ticket_sla_by_policy ON ticket_sla (policy_id);

-- HubSpot's response-time and SLA properties (HUBSPOT-API-2.md §7): read-only, system
-- calculated, kept in property_values by the recomputation so the API and search read them
-- like any other property. Durations are milliseconds; status codes are HubSpot's.
INSERT INTO property_definitions (object_type, name, label, type, field_type, group_name, description, options, hubspot_defined, read_only, display_order, form_field, created_at, updated_at) VALUES
    ('tickets', 'first_agent_reply_date', 'First agent email response date', 'datetime', 'date', 'ticketinformation', 'When an agent first replied to the customer', '[]', TRUE, TRUE, 14, FALSE, 0, 0),
    ('tickets', 'time_to_first_agent_reply', 'Time to first agent email reply', 'number', 'number', 'ticketinformation', 'Milliseconds from creation to the first agent reply', '[]', TRUE, TRUE, 15, FALSE, 0, 0),
    ('tickets', 'time_to_close', 'Time to close', 'number', 'number', 'ticketinformation', 'Milliseconds from creation to the close', '[]', TRUE, TRUE, 16, FALSE, 0, 0),
    ('tickets', 'hs_time_to_first_response_sla_at', 'Time to First Response SLA Due Date', 'datetime', 'date', 'ticketinformation', 'When the first response is due under the SLA', '[]', TRUE, TRUE, 17, FALSE, 0, 0),
    ('tickets', 'hs_time_to_first_response_sla_status', 'Time to First Response SLA Status', 'enumeration', 'select', 'ticketinformation', 'State of the first response SLA', '[{"value":"0","label":"Active","display_order":0,"hidden":false},{"value":"1","label":"Overdue","display_order":1,"hidden":false},{"value":"2","label":"Due soon","display_order":2,"hidden":false},{"value":"3","label":"Completed on time","display_order":3,"hidden":false},{"value":"4","label":"Completed late","display_order":4,"hidden":false}]', TRUE, TRUE, 18, FALSE, 0, 0),
    ('tickets', 'hs_time_to_next_response_sla_at', 'Time to Next Response SLA Due Date', 'datetime', 'date', 'ticketinformation', 'When the next response is due under the SLA', '[]', TRUE, TRUE, 19, FALSE, 0, 0),
    ('tickets', 'hs_time_to_next_response_sla_status', 'Time to Next Response SLA Status', 'enumeration', 'select', 'ticketinformation', 'State of the next response SLA', '[{"value":"0","label":"Active","display_order":0,"hidden":false},{"value":"1","label":"Overdue","display_order":1,"hidden":false},{"value":"2","label":"Due soon","display_order":2,"hidden":false},{"value":"3","label":"Completed on time","display_order":3,"hidden":false},{"value":"4","label":"Completed late","display_order":4,"hidden":false}]', TRUE, TRUE, 20, FALSE, 0, 0),
    ('tickets', 'hs_time_to_close_sla_at', 'Time to Close SLA Due Date', 'datetime', 'date', 'ticketinformation', 'When the ticket is due to be closed under the SLA', '[]', TRUE, TRUE, 21, FALSE, 0, 0),
    ('tickets', 'hs_time_to_close_sla_status', 'Time to Close SLA Ticket Status', 'enumeration', 'select', 'ticketinformation', 'State of the time to close SLA', '[{"value":"0","label":"Active","display_order":0,"hidden":false},{"value":"1","label":"Overdue","display_order":1,"hidden":false},{"value":"2","label":"Due soon","display_order":2,"hidden":false},{"value":"3","label":"Completed on time","display_order":3,"hidden":false},{"value":"4","label":"Completed late","display_order":4,"hidden":false}]', TRUE, TRUE, 22, FALSE, 0, 0);

UPDATE account_settings SET config_version = config_version + 1;
