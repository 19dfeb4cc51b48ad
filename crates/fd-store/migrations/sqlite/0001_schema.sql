-- Frontdesk schema, version 1. Times are milliseconds since the Unix epoch (UTC).
-- The SQLite and PostgreSQL files differ only in how row ids are generated.

CREATE TABLE account_settings (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    mode TEXT NOT NULL CHECK (mode IN ('inbox', 'help_desk')),
    trash_retention_days BIGINT NOT NULL DEFAULT 90,
    -- Bumped by every change to pipelines, stages, properties or the create form, so each
    -- node can keep those in memory and check freshness with one cheap read per write.
    config_version BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
INSERT INTO account_settings (id, mode, trash_retention_days, updated_at) VALUES (1, 'help_desk', 90, 0);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('super-admin', 'agent')),
    account_access BOOLEAN NOT NULL DEFAULT FALSE,
    service_access BOOLEAN NOT NULL DEFAULT TRUE,
    sales_access BOOLEAN NOT NULL DEFAULT FALSE,
    seat TEXT NOT NULL CHECK (seat IN ('none', 'core', 'service')),
    ticket_access TEXT NOT NULL CHECK (ticket_access IN ('all', 'team', 'owned')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    default_from_address TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_by_user ON team_members (user_id, team_id);

-- A team's connected email addresses (HD-03: one of them is the team's default From).
CREATE TABLE team_addresses (
    id INTEGER PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    address TEXT NOT NULL UNIQUE,
    workspace TEXT NOT NULL CHECK (workspace IN ('inbox', 'help_desk')),
    created_at BIGINT NOT NULL
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    email TEXT,
    firstname TEXT,
    lastname TEXT,
    phone TEXT,
    company TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE UNIQUE INDEX contacts_live_email ON contacts (email) WHERE email IS NOT NULL AND archived_at IS NULL;

CREATE TABLE companies (
    id INTEGER PRIMARY KEY,
    name TEXT,
    domain TEXT,
    phone TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived_at BIGINT
);
CREATE INDEX companies_domain ON companies (domain);

CREATE TABLE deals (
    id INTEGER PRIMARY KEY,
    name TEXT,
    amount TEXT,
    dealstage TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived_at BIGINT
);

-- Values of properties that have no column of their own (custom properties of any object).
CREATE TABLE property_values (
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (object_type, object_id, name)
);
CREATE INDEX property_values_by_name ON property_values (object_type, name, value);

CREATE TABLE property_groups (
    object_type TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    display_order BIGINT NOT NULL DEFAULT 0,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (object_type, name)
);

CREATE TABLE property_definitions (
    object_type TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('string', 'number', 'date', 'datetime', 'enumeration', 'bool')),
    field_type TEXT NOT NULL,
    group_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    options TEXT NOT NULL DEFAULT '[]',
    hubspot_defined BOOLEAN NOT NULL DEFAULT FALSE,
    read_only BOOLEAN NOT NULL DEFAULT FALSE,
    display_order BIGINT NOT NULL DEFAULT 0,
    form_field BOOLEAN NOT NULL DEFAULT TRUE,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (object_type, name)
);

-- HD-10: properties admins added to the create-ticket form, and whether they are required.
CREATE TABLE ticket_form_fields (
    property_name TEXT PRIMARY KEY,
    required BOOLEAN NOT NULL DEFAULT FALSE,
    display_order BIGINT NOT NULL DEFAULT 0
);

-- INB-07: the properties each user chose for the Ticket details panel.
CREATE TABLE user_ticket_panel (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    property_name TEXT NOT NULL,
    display_order BIGINT NOT NULL,
    PRIMARY KEY (user_id, property_name)
);

CREATE TABLE pipelines (
    id INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL DEFAULT 'tickets',
    label TEXT NOT NULL,
    display_order BIGINT NOT NULL DEFAULT 0,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX pipelines_live_label ON pipelines (object_type, label) WHERE archived = FALSE;

CREATE TABLE pipeline_stages (
    id INTEGER PRIMARY KEY,
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id),
    label TEXT NOT NULL,
    display_order BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('OPEN', 'CLOSED')),
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX pipeline_stages_live_label ON pipeline_stages (pipeline_id, label) WHERE archived = FALSE;

-- HD-19: a conditional stage's required properties.
CREATE TABLE stage_required_properties (
    stage_id BIGINT NOT NULL REFERENCES pipeline_stages (id) ON DELETE CASCADE,
    property_name TEXT NOT NULL,
    PRIMARY KEY (stage_id, property_name)
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    content TEXT,
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id),
    stage_id BIGINT NOT NULL REFERENCES pipeline_stages (id),
    priority TEXT,
    category TEXT,
    owner_id BIGINT REFERENCES users (id),
    team_id BIGINT REFERENCES teams (id),
    source_type TEXT,
    workspace TEXT NOT NULL CHECK (workspace IN ('inbox', 'help_desk')),
    is_open BOOLEAN NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    closed_at BIGINT,
    last_activity_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    trashed_at BIGINT
);
-- The help desk's default view: open tickets, newest activity first. owner_id and team_id are
-- carried in the index so a team- or owner-scoped viewer's filter (HD-09) is decided from the
-- index entry, without reading the rows it rejects.
CREATE INDEX tickets_live_by_activity ON tickets (is_open, last_activity_at DESC, id DESC, owner_id, team_id) WHERE trashed_at IS NULL;
CREATE INDEX tickets_live_by_owner ON tickets (owner_id, is_open, last_activity_at DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX tickets_live_by_team ON tickets (team_id, is_open, last_activity_at DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX tickets_by_id_live ON tickets (id) WHERE trashed_at IS NULL;
CREATE INDEX tickets_trashed ON tickets (trashed_at) WHERE trashed_at IS NOT NULL;
CREATE INDEX tickets_by_stage ON tickets (stage_id);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    channel_account TEXT,
    workspace TEXT NOT NULL CHECK (workspace IN ('inbox', 'help_desk')),
    status TEXT NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
    owner_id BIGINT REFERENCES users (id),
    team_id BIGINT REFERENCES teams (id),
    contact_id BIGINT REFERENCES contacts (id),
    visitor_name TEXT,
    visitor_email TEXT,
    subject TEXT,
    -- INB-04: one column, so a conversation has at most one ticket.
    ticket_id BIGINT REFERENCES tickets (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_message_at BIGINT NOT NULL,
    closed_at BIGINT,
    trashed_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX conversations_by_ticket ON conversations (ticket_id);
CREATE INDEX conversations_by_contact ON conversations (contact_id, last_message_at DESC);
CREATE INDEX conversations_live_by_status ON conversations (workspace, status, last_message_at DESC, id DESC) WHERE trashed_at IS NULL;
CREATE INDEX conversations_trashed ON conversations (trashed_at) WHERE trashed_at IS NOT NULL;

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('INCOMING', 'OUTGOING')),
    channel TEXT NOT NULL,
    sender_user_id BIGINT REFERENCES users (id),
    sender_name TEXT,
    sender_address TEXT,
    recipients TEXT NOT NULL DEFAULT '{}',
    subject TEXT,
    text TEXT NOT NULL DEFAULT '',
    html TEXT,
    attachments TEXT NOT NULL DEFAULT '[]',
    message_id_header TEXT,
    in_reply_to TEXT,
    references_header TEXT,
    reply_to_message_id BIGINT REFERENCES messages (id),
    status TEXT NOT NULL,
    status_detail TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at, id);
CREATE INDEX messages_by_header_id ON messages (message_id_header) WHERE message_id_header IS NOT NULL;

CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE CASCADE,
    conversation_id BIGINT REFERENCES conversations (id) ON DELETE CASCADE,
    author_id BIGINT REFERENCES users (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK (ticket_id IS NOT NULL OR conversation_id IS NOT NULL)
);
CREATE INDEX comments_by_ticket ON comments (ticket_id, created_at);
CREATE INDEX comments_by_conversation ON comments (conversation_id, created_at);

CREATE TABLE comment_mentions (
    comment_id BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (comment_id, user_id)
);

-- HD-17: a draft belongs to its author; `target` is 'ticket:<id>' or 'conversation:<id>'.
CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE CASCADE,
    conversation_id BIGINT REFERENCES conversations (id) ON DELETE CASCADE,
    body_text TEXT NOT NULL DEFAULT '',
    body_html TEXT,
    recipients TEXT NOT NULL DEFAULT '{}',
    from_address TEXT,
    reply_to_message_id BIGINT,
    -- The newest message the author had seen when the draft began (stale-reply check).
    seen_message_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (author_id, target)
);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ticket_id BIGINT REFERENCES tickets (id) ON DELETE CASCADE,
    conversation_id BIGINT REFERENCES conversations (id) ON DELETE CASCADE,
    comment_id BIGINT REFERENCES comments (id) ON DELETE CASCADE,
    actor_id BIGINT REFERENCES users (id),
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at DESC);

CREATE TABLE follows (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, ticket_id)
);
CREATE INDEX follows_by_ticket ON follows (ticket_id);

-- Typed links between CRM records, one row per direction (HubSpot association type ids).
-- Ticket–conversation links live in conversations.ticket_id (INB-04).
CREATE TABLE associations (
    from_type TEXT NOT NULL,
    from_id BIGINT NOT NULL,
    to_type TEXT NOT NULL,
    to_id BIGINT NOT NULL,
    type_id BIGINT NOT NULL,
    category TEXT NOT NULL DEFAULT 'HUBSPOT_DEFINED',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (from_type, from_id, to_type, to_id, type_id)
);
CREATE INDEX associations_by_target ON associations (to_type, to_id);

-- History of tickets and conversations: who changed what, when, from what to what.
CREATE TABLE activity (
    id INTEGER PRIMARY KEY,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    actor_user_id BIGINT REFERENCES users (id),
    action TEXT NOT NULL,
    field TEXT,
    old_value TEXT,
    new_value TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX activity_by_object ON activity (object_type, object_id, at, id);

-- HubSpot's default ticket pipeline, with its well-known ids.
INSERT INTO pipelines (id, object_type, label, display_order, archived, created_at, updated_at)
VALUES (0, 'tickets', 'Support Pipeline', 0, FALSE, 0, 0);
INSERT INTO pipeline_stages (id, pipeline_id, label, display_order, state, archived, created_at, updated_at) VALUES
    (1, 0, 'New', 0, 'OPEN', FALSE, 0, 0),
    (2, 0, 'Waiting on contact', 1, 'OPEN', FALSE, 0, 0),
    (3, 0, 'Waiting on us', 2, 'OPEN', FALSE, 0, 0),
    (4, 0, 'Closed', 3, 'CLOSED', FALSE, 0, 0);

INSERT INTO property_groups (object_type, name, label, display_order) VALUES
    ('tickets', 'ticketinformation', 'Ticket information', 0),
    ('contacts', 'contactinformation', 'Contact information', 0),
    ('companies', 'companyinformation', 'Company information', 0);

-- HubSpot's standard ticket properties (HUBSPOT-API.md §4.9).
INSERT INTO property_definitions (object_type, name, label, type, field_type, group_name, description, options, hubspot_defined, read_only, display_order, form_field, created_at, updated_at) VALUES
    ('tickets', 'subject', 'Ticket name', 'string', 'text', 'ticketinformation', 'Short summary of ticket', '[]', TRUE, FALSE, 0, TRUE, 0, 0),
    ('tickets', 'content', 'Ticket description', 'string', 'textarea', 'ticketinformation', 'Text in body of the ticket', '[]', TRUE, FALSE, 1, TRUE, 0, 0),
    ('tickets', 'hs_pipeline', 'Pipeline', 'enumeration', 'select', 'ticketinformation', 'The pipeline that contains this ticket', '[]', TRUE, FALSE, 2, TRUE, 0, 0),
    ('tickets', 'hs_pipeline_stage', 'Ticket status', 'enumeration', 'select', 'ticketinformation', 'The pipeline stage that contains this ticket', '[]', TRUE, FALSE, 3, TRUE, 0, 0),
    ('tickets', 'hs_ticket_priority', 'Priority', 'enumeration', 'select', 'ticketinformation', 'The level of attention needed on the ticket', '[{"value":"LOW","label":"Low","display_order":0,"hidden":false},{"value":"MEDIUM","label":"Medium","display_order":1,"hidden":false},{"value":"HIGH","label":"High","display_order":2,"hidden":false},{"value":"URGENT","label":"Urgent","display_order":3,"hidden":false}]', TRUE, FALSE, 4, TRUE, 0, 0),
    ('tickets', 'hs_ticket_category', 'Category', 'enumeration', 'checkbox', 'ticketinformation', 'The main reason customer reached out for help', '[{"value":"PRODUCT_ISSUE","label":"Product issue","display_order":0,"hidden":false},{"value":"BILLING_ISSUE","label":"Billing issue","display_order":1,"hidden":false},{"value":"FEATURE_REQUEST","label":"Feature request","display_order":2,"hidden":false},{"value":"GENERAL_INQUIRY","label":"General inquiry","display_order":3,"hidden":false}]', TRUE, FALSE, 5, TRUE, 0, 0),
    ('tickets', 'hubspot_owner_id', 'Ticket owner', 'enumeration', 'select', 'ticketinformation', 'User the ticket is assigned to', '[]', TRUE, FALSE, 6, TRUE, 0, 0),
    ('tickets', 'hubspot_team_id', 'Team', 'enumeration', 'select', 'ticketinformation', 'Team the ticket is assigned to', '[]', TRUE, FALSE, 7, TRUE, 0, 0),
    ('tickets', 'source_type', 'Source', 'enumeration', 'select', 'ticketinformation', 'Channel where ticket was originally submitted', '[{"value":"CHAT","label":"Chat","display_order":0,"hidden":false},{"value":"EMAIL","label":"Email","display_order":1,"hidden":false},{"value":"FORM","label":"Form","display_order":2,"hidden":false},{"value":"PHONE","label":"Phone","display_order":3,"hidden":false}]', TRUE, FALSE, 8, TRUE, 0, 0),
    ('tickets', 'createdate', 'Create date', 'datetime', 'date', 'ticketinformation', 'The date the ticket was created', '[]', TRUE, TRUE, 9, FALSE, 0, 0),
    ('tickets', 'hs_lastmodifieddate', 'Last modified date', 'datetime', 'date', 'ticketinformation', 'Most recent timestamp of any property update for this ticket', '[]', TRUE, TRUE, 10, FALSE, 0, 0),
    ('tickets', 'closed_date', 'Close date', 'datetime', 'date', 'ticketinformation', 'The date the ticket was closed', '[]', TRUE, TRUE, 11, FALSE, 0, 0),
    ('tickets', 'hs_object_id', 'Record ID', 'number', 'number', 'ticketinformation', 'The unique ID for this record', '[]', TRUE, TRUE, 12, FALSE, 0, 0),
    ('tickets', 'hs_last_activity_date', 'Last activity date', 'datetime', 'date', 'ticketinformation', 'Most recent activity on this ticket', '[]', TRUE, TRUE, 13, FALSE, 0, 0),
    ('contacts', 'email', 'Email', 'string', 'text', 'contactinformation', '', '[]', TRUE, FALSE, 0, TRUE, 0, 0),
    ('contacts', 'firstname', 'First name', 'string', 'text', 'contactinformation', '', '[]', TRUE, FALSE, 1, TRUE, 0, 0),
    ('contacts', 'lastname', 'Last name', 'string', 'text', 'contactinformation', '', '[]', TRUE, FALSE, 2, TRUE, 0, 0),
    ('contacts', 'phone', 'Phone number', 'string', 'text', 'contactinformation', '', '[]', TRUE, FALSE, 3, TRUE, 0, 0),
    ('contacts', 'company', 'Company name', 'string', 'text', 'contactinformation', '', '[]', TRUE, FALSE, 4, TRUE, 0, 0),
    ('contacts', 'createdate', 'Create date', 'datetime', 'date', 'contactinformation', '', '[]', TRUE, TRUE, 5, FALSE, 0, 0),
    ('contacts', 'lastmodifieddate', 'Last modified date', 'datetime', 'date', 'contactinformation', '', '[]', TRUE, TRUE, 6, FALSE, 0, 0),
    ('contacts', 'hs_object_id', 'Record ID', 'number', 'number', 'contactinformation', '', '[]', TRUE, TRUE, 7, FALSE, 0, 0),
    ('companies', 'name', 'Company name', 'string', 'text', 'companyinformation', '', '[]', TRUE, FALSE, 0, TRUE, 0, 0),
    ('companies', 'domain', 'Company domain name', 'string', 'text', 'companyinformation', '', '[]', TRUE, FALSE, 1, TRUE, 0, 0),
    ('companies', 'phone', 'Phone number', 'string', 'text', 'companyinformation', '', '[]', TRUE, FALSE, 2, TRUE, 0, 0),
    ('companies', 'createdate', 'Create date', 'datetime', 'date', 'companyinformation', '', '[]', TRUE, TRUE, 3, FALSE, 0, 0),
    ('companies', 'hs_lastmodifieddate', 'Last modified date', 'datetime', 'date', 'companyinformation', '', '[]', TRUE, TRUE, 4, FALSE, 0, 0),
    ('companies', 'hs_object_id', 'Record ID', 'number', 'number', 'companyinformation', '', '[]', TRUE, TRUE, 5, FALSE, 0, 0);
