-- Reports (issue 16, item 5): the date-range reports read tickets by when they were created
-- or closed. Each index carries what the reports filter and group by (team, pipeline, owner,
-- channel, stage) so a report over a range is answered from the index entries alone; the
-- backlog (open tickets per stage) reads the last one.
CREATE INDEX tickets_report_created ON tickets (created_at, team_id, pipeline_id, owner_id, source_type, id) WHERE trashed_at IS NULL;
CREATE INDEX tickets_report_closed ON tickets (closed_at, team_id, pipeline_id, owner_id, source_type, created_at) WHERE trashed_at IS NULL AND closed_at IS NOT NULL;
CREATE INDEX tickets_report_backlog ON tickets (is_open, stage_id, team_id, pipeline_id, owner_id) WHERE trashed_at IS NULL;
