-- Frontdesk schema, version 13: web forms (HD-06) and this installation's account id.
--
-- `portal` holds the `portalId` of `/account-info/v3/details` and of form and chat embeds:
-- drawn once, here, and never changed, so embeds written on other sites keep working.
CREATE TABLE portal (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    portal_id BIGINT NOT NULL
);
INSERT INTO portal (id, portal_id) VALUES (1, 10000000 + abs(random() % 90000000));

-- A form: HubSpot's GUID as its id; where a submission goes (team, help desk or inbox) and
-- what the submitter sees after it (a thank-you message or a redirect).
CREATE TABLE forms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    team_id BIGINT REFERENCES teams (id) ON DELETE SET NULL,
    workspace TEXT NOT NULL,
    post_submit_type TEXT NOT NULL,
    post_submit_value TEXT NOT NULL,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    archived_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX forms_by_created ON forms (archived, created_at, id);

-- Its fields in order, each filling a contact (0-1) or ticket (0-5) property.
CREATE TABLE form_fields (
    form_id TEXT NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    object_type TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    PRIMARY KEY (form_id, position)
);

-- Every accepted submission, with what it became.
CREATE TABLE form_submissions (
    id INTEGER PRIMARY KEY,
    form_id TEXT NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    contact_id BIGINT,
    conversation_id BIGINT,
    ticket_id BIGINT,
    page_uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX form_submissions_by_form ON form_submissions (form_id, created_at);
