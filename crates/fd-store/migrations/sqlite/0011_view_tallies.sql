-- Frontdesk schema, version 11: the help desk's view counts without counting tickets.
--
-- The list shows how many tickets each view holds, for this agent (HD-09). Counting them meant
-- walking every matching index entry: at a million tickets, six counts took 50 ms for an
-- agent who sees everything and 200–400 ms for a team-scoped one. `ticket_tallies` keeps how
-- many tickets share each combination of the columns views, filters and scopes look at (state,
-- trash, owner, team, pipeline, stage, priority); a count is the sum of the matching rows, a
-- few dozen to a few thousand of them however many tickets there are. Absent values are
-- stored as 0 (owner, team) and '' (priority) so the key can be unique; real ids are never 0,
-- so the scope's `owner_id = …` and `team_id IN (…)` read the same on this table as on
-- `tickets`. Triggers keep it exact in the same transaction as the ticket change.
CREATE TABLE ticket_tallies (
    is_open BOOLEAN NOT NULL,
    trashed BOOLEAN NOT NULL,
    owner_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL,
    stage_id BIGINT NOT NULL,
    priority TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority)
);

INSERT INTO ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, n)
SELECT is_open, trashed_at IS NOT NULL, COALESCE(owner_id, 0), COALESCE(team_id, 0), pipeline_id,
       stage_id, COALESCE(priority, ''), COUNT(*)
FROM tickets
GROUP BY 1, 2, 3, 4, 5, 6, 7;

CREATE TRIGGER tickets_tally_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, n)
    VALUES (new.is_open, new.trashed_at IS NOT NULL, COALESCE(new.owner_id, 0), COALESCE(new.team_id, 0),
            new.pipeline_id, new.stage_id, COALESCE(new.priority, ''), 1)
    ON CONFLICT (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tickets_tally_delete AFTER DELETE ON tickets BEGIN
    UPDATE ticket_tallies SET n = n - 1
    WHERE is_open = old.is_open AND trashed = (old.trashed_at IS NOT NULL)
      AND owner_id = COALESCE(old.owner_id, 0) AND team_id = COALESCE(old.team_id, 0)
      AND pipeline_id = old.pipeline_id AND stage_id = old.stage_id
      AND priority = COALESCE(old.priority, '');
END;

CREATE TRIGGER tickets_tally_update
AFTER UPDATE OF is_open, trashed_at, owner_id, team_id, pipeline_id, stage_id, priority ON tickets
WHEN old.is_open IS NOT new.is_open OR (old.trashed_at IS NULL) IS NOT (new.trashed_at IS NULL)
  OR old.owner_id IS NOT new.owner_id OR old.team_id IS NOT new.team_id
  OR old.pipeline_id IS NOT new.pipeline_id OR old.stage_id IS NOT new.stage_id
  OR old.priority IS NOT new.priority
BEGIN
    UPDATE ticket_tallies SET n = n - 1
    WHERE is_open = old.is_open AND trashed = (old.trashed_at IS NOT NULL)
      AND owner_id = COALESCE(old.owner_id, 0) AND team_id = COALESCE(old.team_id, 0)
      AND pipeline_id = old.pipeline_id AND stage_id = old.stage_id
      AND priority = COALESCE(old.priority, '');
    INSERT INTO ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, n)
    VALUES (new.is_open, new.trashed_at IS NOT NULL, COALESCE(new.owner_id, 0), COALESCE(new.team_id, 0),
            new.pipeline_id, new.stage_id, COALESCE(new.priority, ''), 1)
    ON CONFLICT (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority) DO UPDATE SET n = n + 1;
END;

-- Live tickets by latest activity whatever their state: a search across every view (the
-- default reach of the help desk's search box) whose words are common walks this index from
-- the newest and stops after a page, instead of sorting every match
-- (`tickets_live_by_activity` starts with the state, so it orders one state at a time).
CREATE INDEX tickets_live_recent ON tickets (last_activity_at DESC, id DESC, is_open, owner_id, team_id) WHERE trashed_at IS NULL;
