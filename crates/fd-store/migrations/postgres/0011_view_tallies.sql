-- Frontdesk schema, version 11: the help desk's view counts without counting tickets.
--
-- As on SQLite (see its 0011): `ticket_tallies` holds how many tickets share each combination
-- of state, trash, owner (0: none), team (0: none), pipeline, stage and priority ('': none),
-- and a view's count is the sum of its matching rows. Here the trigger appends a +1/-1 row per
-- change instead of updating one row per combination: concurrent transactions creating
-- tickets of the same combination would otherwise queue on that row's lock until each
-- commits. `fd-store`'s `compact_ticket_tallies` folds the rows together now and then.
CREATE TABLE ticket_tallies (
    is_open BOOLEAN NOT NULL,
    trashed BOOLEAN NOT NULL,
    owner_id BIGINT NOT NULL,
    team_id BIGINT NOT NULL,
    pipeline_id BIGINT NOT NULL,
    stage_id BIGINT NOT NULL,
    priority TEXT NOT NULL,
    n BIGINT NOT NULL
);
CREATE INDEX ticket_tallies_by_key ON ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority);

INSERT INTO ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, n)
SELECT is_open, trashed_at IS NOT NULL, COALESCE(owner_id, 0), COALESCE(team_id, 0), pipeline_id,
       stage_id, COALESCE(priority, ''), COUNT(*)
FROM tickets
GROUP BY 1, 2, 3, 4, 5, 6, 7;

CREATE FUNCTION fd_ticket_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, n)
        VALUES (OLD.is_open, OLD.trashed_at IS NOT NULL, COALESCE(OLD.owner_id, 0), COALESCE(OLD.team_id, 0),
                OLD.pipeline_id, OLD.stage_id, COALESCE(OLD.priority, ''), -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, n)
        VALUES (NEW.is_open, NEW.trashed_at IS NOT NULL, COALESCE(NEW.owner_id, 0), COALESCE(NEW.team_id, 0),
                NEW.pipeline_id, NEW.stage_id, COALESCE(NEW.priority, ''), 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tickets_tally_insert AFTER INSERT OR DELETE ON tickets
FOR EACH ROW EXECUTE FUNCTION fd_ticket_tally();
CREATE TRIGGER tickets_tally_update
AFTER UPDATE OF is_open, trashed_at, owner_id, team_id, pipeline_id, stage_id, priority ON tickets
FOR EACH ROW WHEN (OLD.is_open IS DISTINCT FROM NEW.is_open
    OR (OLD.trashed_at IS NULL) IS DISTINCT FROM (NEW.trashed_at IS NULL)
    OR OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.team_id IS DISTINCT FROM NEW.team_id
    OR OLD.pipeline_id IS DISTINCT FROM NEW.pipeline_id OR OLD.stage_id IS DISTINCT FROM NEW.stage_id
    OR OLD.priority IS DISTINCT FROM NEW.priority)
EXECUTE FUNCTION fd_ticket_tally();

-- As on SQLite: live tickets by latest activity whatever their state.
CREATE INDEX tickets_live_recent ON tickets (last_activity_at DESC, id DESC, is_open, owner_id, team_id) WHERE trashed_at IS NULL;
