-- Reports (issue 16, item 5): the date-range reports read tickets by when they were created
-- or closed. Each index carries what the reports filter and group by (team, pipeline, owner,
-- channel) so a report over a range is answered from the index entries alone. The backlog
-- (open tickets per stage) is summed from `ticket_tallies` (0011) and needs no index here.
CREATE INDEX tickets_report_created ON tickets (created_at, team_id, pipeline_id, owner_id, source_type, id) WHERE trashed_at IS NULL;
CREATE INDEX tickets_report_closed ON tickets (closed_at, team_id, pipeline_id, owner_id, source_type, created_at) WHERE trashed_at IS NULL AND closed_at IS NOT NULL;
