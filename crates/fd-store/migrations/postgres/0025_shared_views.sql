-- Shared views (issue 16 item 4, HD-04). A saved view now belongs to a user, a team or
-- everyone; `user_id` stays the person who created it (and owns a personal view). Views
-- saved before keep `owner_kind = 'user'`: they are their user's personal views, and their
-- `query` (the list's query string) is read as a definition until they are next saved.
ALTER TABLE saved_views ADD COLUMN owner_kind TEXT NOT NULL DEFAULT 'user';
ALTER TABLE saved_views ADD COLUMN team_id BIGINT REFERENCES teams (id) ON DELETE CASCADE;
-- The view's definition as JSON (fd_domain::views::ViewDefinition); NULL for older rows.
ALTER TABLE saved_views ADD COLUMN definition TEXT;
ALTER TABLE saved_views ADD COLUMN updated_at BIGINT;
CREATE INDEX saved_views_by_team ON saved_views (team_id) WHERE team_id IS NOT NULL;
CREATE INDEX saved_views_shared ON saved_views (owner_kind) WHERE owner_kind = 'everyone';
