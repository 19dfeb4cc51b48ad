-- Ticket routing (issue 16 item 2; HUBSPOT-API-2.md §8). A team's routing: its mode and
-- capacity (the most open tickets a member may own and still be given one; NULL: no limit)
-- and the round-robin cursor, the member the team's last routed ticket went to. Creating a
-- ticket locks this row (FOR UPDATE on PostgreSQL; SQLite has one writer) before it reads
-- the members' loads and the cursor, so concurrent creations on several nodes take turns.
-- No row: manual (tickets arrive unassigned).
CREATE TABLE team_routing (
    team_id BIGINT PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('manual', 'round_robin', 'load_balanced')),
    capacity BIGINT CHECK (capacity IS NULL OR capacity > 0),
    last_user_id BIGINT,
    updated_at BIGINT NOT NULL
);

-- A channel's own routing within a team, overriding the team's (the cursor stays the team's,
-- so turns are fair across channels). No row: the team's setting.
CREATE TABLE team_channel_routing (
    team_id BIGINT NOT NULL REFERENCES team_routing (team_id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'form', 'chat', 'calls', 'other')),
    mode TEXT NOT NULL CHECK (mode IN ('manual', 'round_robin', 'load_balanced')),
    capacity BIGINT CHECK (capacity IS NULL OR capacity > 0),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, channel)
);
