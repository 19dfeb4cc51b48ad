-- Issue 14 items 5 and 6: HubSpot's engagement objects (calls, notes, emails) and the
-- calling channel (a phone number per team whose provider posts signed call events).

-- One row per engagement; its properties are in property_values under 'calls', 'notes' or
-- 'emails', so the CRM search reaches them as it reaches custom properties.
CREATE TABLE engagements (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('call', 'note', 'email')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE INDEX engagements_by_kind ON engagements (kind, id);

-- A team's phone number; the secret signs the provider's webhook (HMAC-SHA256), so it is
-- kept as is (a hash could not verify a signature).
CREATE TABLE calling_channels (
    id INTEGER PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id),
    number TEXT NOT NULL UNIQUE,
    workspace TEXT NOT NULL CHECK (workspace IN ('inbox', 'help_desk')),
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One provider call: its conversation and its call engagement.
CREATE TABLE calling_calls (
    channel_id BIGINT NOT NULL REFERENCES calling_channels (id),
    provider_call_id TEXT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    engagement_id BIGINT NOT NULL REFERENCES engagements (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, provider_call_id)
);

-- Event ids already applied: a replay is answered and ignored.
CREATE TABLE calling_events (
    channel_id BIGINT NOT NULL REFERENCES calling_channels (id),
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, event_id)
);

-- Property groups and HubSpot's standard properties of calls, notes and emails
-- (HUBSPOT-API-2.md §4.2, §4.3): they live in property_values like custom properties, so
-- the CRM search filters and sorts them with the machinery it uses for every record.
INSERT INTO property_groups (object_type, name, label, display_order) VALUES
    ('calls', 'callinformation', 'Call information', 0),
    ('notes', 'noteinformation', 'Note information', 0),
    ('emails', 'emailinformation', 'Email information', 0);

INSERT INTO property_definitions (object_type, name, label, type, field_type, group_name, description, options, hubspot_defined, read_only, display_order, form_field, created_at, updated_at) VALUES
    ('calls', 'hs_timestamp', 'Activity date', 'datetime', 'date', 'callinformation', 'When the call happened; places it on the timeline', '[]', TRUE, FALSE, 0, FALSE, 0, 0),
    ('calls', 'hs_call_title', 'Call title', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 1, FALSE, 0, 0),
    ('calls', 'hs_call_body', 'Call notes', 'string', 'html', 'callinformation', '', '[]', TRUE, FALSE, 2, FALSE, 0, 0),
    ('calls', 'hs_call_direction', 'Call direction', 'enumeration', 'select', 'callinformation', '', '[{"value":"INBOUND","label":"Inbound","display_order":0,"hidden":false},{"value":"OUTBOUND","label":"Outbound","display_order":1,"hidden":false}]', TRUE, FALSE, 3, FALSE, 0, 0),
    ('calls', 'hs_call_status', 'Call status', 'enumeration', 'select', 'callinformation', '', '[{"value":"BUSY","label":"Busy","display_order":0,"hidden":false},{"value":"CALLING_CRM_USER","label":"Calling CRM user","display_order":1,"hidden":false},{"value":"CANCELED","label":"Canceled","display_order":2,"hidden":false},{"value":"COMPLETED","label":"Completed","display_order":3,"hidden":false},{"value":"CONNECTING","label":"Connecting","display_order":4,"hidden":false},{"value":"FAILED","label":"Failed","display_order":5,"hidden":false},{"value":"IN_PROGRESS","label":"In progress","display_order":6,"hidden":false},{"value":"MISSED","label":"Missed","display_order":7,"hidden":false},{"value":"NO_ANSWER","label":"No answer","display_order":8,"hidden":false},{"value":"QUEUED","label":"Queued","display_order":9,"hidden":false},{"value":"RINGING","label":"Ringing","display_order":10,"hidden":false}]', TRUE, FALSE, 4, FALSE, 0, 0),
    ('calls', 'hs_call_duration', 'Call duration', 'number', 'number', 'callinformation', 'Milliseconds', '[]', TRUE, FALSE, 5, FALSE, 0, 0),
    ('calls', 'hs_call_from_number', 'From number', 'string', 'phonenumber', 'callinformation', '', '[]', TRUE, FALSE, 6, FALSE, 0, 0),
    ('calls', 'hs_call_to_number', 'To number', 'string', 'phonenumber', 'callinformation', '', '[]', TRUE, FALSE, 7, FALSE, 0, 0),
    ('calls', 'hs_call_recording_url', 'Recording URL', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 8, FALSE, 0, 0),
    ('calls', 'hs_call_disposition', 'Call outcome', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 9, FALSE, 0, 0),
    ('calls', 'hs_call_callee_object_id', 'Callee object id', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 10, FALSE, 0, 0),
    ('calls', 'hs_call_callee_object_type', 'Callee object type', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 11, FALSE, 0, 0),
    ('calls', 'hs_call_source', 'Call source', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 12, FALSE, 0, 0),
    ('calls', 'hs_activity_type', 'Activity type', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 13, FALSE, 0, 0),
    ('calls', 'hubspot_owner_id', 'Activity assigned to', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 14, FALSE, 0, 0),
    ('calls', 'hs_attachment_ids', 'Attachment ids', 'string', 'text', 'callinformation', '', '[]', TRUE, FALSE, 15, FALSE, 0, 0),
    ('calls', 'hs_createdate', 'Create date', 'datetime', 'date', 'callinformation', '', '[]', TRUE, TRUE, 16, FALSE, 0, 0),
    ('calls', 'hs_lastmodifieddate', 'Last modified date', 'datetime', 'date', 'callinformation', '', '[]', TRUE, TRUE, 17, FALSE, 0, 0),
    ('calls', 'hs_object_id', 'Record ID', 'number', 'number', 'callinformation', '', '[]', TRUE, TRUE, 18, FALSE, 0, 0),
    ('notes', 'hs_timestamp', 'Activity date', 'datetime', 'date', 'noteinformation', 'When the note was made; places it on the timeline', '[]', TRUE, FALSE, 0, FALSE, 0, 0),
    ('notes', 'hs_note_body', 'Note body', 'string', 'html', 'noteinformation', '', '[]', TRUE, FALSE, 1, FALSE, 0, 0),
    ('notes', 'hubspot_owner_id', 'Activity assigned to', 'string', 'text', 'noteinformation', '', '[]', TRUE, FALSE, 2, FALSE, 0, 0),
    ('notes', 'hs_attachment_ids', 'Attachment ids', 'string', 'text', 'noteinformation', '', '[]', TRUE, FALSE, 3, FALSE, 0, 0),
    ('notes', 'hs_createdate', 'Create date', 'datetime', 'date', 'noteinformation', '', '[]', TRUE, TRUE, 4, FALSE, 0, 0),
    ('notes', 'hs_lastmodifieddate', 'Last modified date', 'datetime', 'date', 'noteinformation', '', '[]', TRUE, TRUE, 5, FALSE, 0, 0),
    ('notes', 'hs_object_id', 'Record ID', 'number', 'number', 'noteinformation', '', '[]', TRUE, TRUE, 6, FALSE, 0, 0),
    ('emails', 'hs_timestamp', 'Activity date', 'datetime', 'date', 'emailinformation', 'When the email was sent; places it on the timeline', '[]', TRUE, FALSE, 0, FALSE, 0, 0),
    ('emails', 'hs_email_direction', 'Email direction', 'enumeration', 'select', 'emailinformation', '', '[{"value":"EMAIL","label":"Outgoing","display_order":0,"hidden":false},{"value":"INCOMING_EMAIL","label":"Incoming","display_order":1,"hidden":false},{"value":"FORWARDED_EMAIL","label":"Forwarded","display_order":2,"hidden":false}]', TRUE, FALSE, 1, FALSE, 0, 0),
    ('emails', 'hs_email_status', 'Email status', 'enumeration', 'select', 'emailinformation', '', '[{"value":"BOUNCED","label":"Bounced","display_order":0,"hidden":false},{"value":"FAILED","label":"Failed","display_order":1,"hidden":false},{"value":"SCHEDULED","label":"Scheduled","display_order":2,"hidden":false},{"value":"SENDING","label":"Sending","display_order":3,"hidden":false},{"value":"SENT","label":"Sent","display_order":4,"hidden":false}]', TRUE, FALSE, 2, FALSE, 0, 0),
    ('emails', 'hs_email_subject', 'Email subject', 'string', 'text', 'emailinformation', '', '[]', TRUE, FALSE, 3, FALSE, 0, 0),
    ('emails', 'hs_email_text', 'Email body (text)', 'string', 'textarea', 'emailinformation', '', '[]', TRUE, FALSE, 4, FALSE, 0, 0),
    ('emails', 'hs_email_html', 'Email body (HTML)', 'string', 'html', 'emailinformation', '', '[]', TRUE, FALSE, 5, FALSE, 0, 0),
    ('emails', 'hs_email_headers', 'Email headers', 'string', 'textarea', 'emailinformation', 'JSON: from, to, cc, bcc', '[]', TRUE, FALSE, 6, FALSE, 0, 0),
    ('emails', 'hubspot_owner_id', 'Activity assigned to', 'string', 'text', 'emailinformation', '', '[]', TRUE, FALSE, 7, FALSE, 0, 0),
    ('emails', 'hs_attachment_ids', 'Attachment ids', 'string', 'text', 'emailinformation', '', '[]', TRUE, FALSE, 8, FALSE, 0, 0),
    ('emails', 'hs_createdate', 'Create date', 'datetime', 'date', 'emailinformation', '', '[]', TRUE, TRUE, 9, FALSE, 0, 0),
    ('emails', 'hs_lastmodifieddate', 'Last modified date', 'datetime', 'date', 'emailinformation', '', '[]', TRUE, TRUE, 10, FALSE, 0, 0),
    ('emails', 'hs_object_id', 'Record ID', 'number', 'number', 'emailinformation', '', '[]', TRUE, TRUE, 11, FALSE, 0, 0);
