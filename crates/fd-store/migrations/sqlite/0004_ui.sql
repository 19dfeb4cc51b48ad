-- Frontdesk schema, version 4: the agents' web UI (issue 5).
-- The SQLite and PostgreSQL files differ only in id generation.

-- Signed-in browsers. Only the SHA-256 of the cookie's token is stored, so a leaked table
-- opens no session. `csrf_token` is echoed in every form and fetch of that session.
CREATE TABLE ui_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX ui_sessions_by_user ON ui_sessions (user_id);

-- Failed sign-ins per email address: after a few, further attempts wait (a slowdown that
-- holds across nodes and restarts, and against guesses spread over many connections).
CREATE TABLE login_throttle (
    email TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);

-- HD-16: the snippets, templates and knowledge-base articles that admins manage and agents
-- insert into replies. Bodies are sanitised HTML.
CREATE TABLE library_items (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('snippet', 'template', 'article')),
    title TEXT NOT NULL,
    body_html TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    archived BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX library_items_live ON library_items (kind, title) WHERE archived = FALSE;

-- HD-04: custom views (a Service Seat feature): a named filter of the help desk's list.
CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX saved_views_by_user ON saved_views (user_id, name);

-- The Mentions view and the notification bell's unread count.
CREATE INDEX comment_mentions_by_user ON comment_mentions (user_id, comment_id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

-- The help desk list's sortable columns (name, priority, created) over live tickets, so a
-- sorted first page walks 25 index entries instead of sorting every open ticket. Shaped like
-- `tickets_live_by_activity` (state first, the scope's owner and team last). The priority
-- expressions are the ones `TicketSort::Priority*` orders by, character for character
-- (SQLite uses an expression index only for the identical expression).
CREATE INDEX tickets_live_by_subject ON tickets (is_open, LOWER(subject), id, owner_id, team_id) WHERE trashed_at IS NULL;
CREATE INDEX tickets_live_by_created ON tickets (is_open, created_at, id, owner_id, team_id) WHERE trashed_at IS NULL;
CREATE INDEX tickets_live_by_priority_desc ON tickets (is_open, (CASE priority WHEN 'URGENT' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 ELSE 0 END), last_activity_at, id, owner_id, team_id) WHERE trashed_at IS NULL;
CREATE INDEX tickets_live_by_priority_asc ON tickets (is_open, (CASE priority WHEN 'URGENT' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 ELSE 5 END), last_activity_at, id, owner_id, team_id) WHERE trashed_at IS NULL;
