-- Several nodes on one PostgreSQL database (issue 17, item 3): work that must run on one node
-- at a time — polling an IMAP mailbox, the minute sweeps (SLA, automation's time triggers),
-- notification digests, the tallies' fold, the trash purge — is done by whichever node holds
-- its named lease. A holder renews the lease on each run; a node that dies stops renewing, and
-- once `expires_at` has passed any other node takes it over.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
