-- Ticket merges (issue 15, HUBSPOT-API-2.md §2): one row per ticket merged away, naming the
-- ticket it now lives on. The merged ticket's row is kept, put in the trash so lists and
-- searches leave it out, but the trash view and the purge job skip tickets named here, so
-- it stays until an unmerge gives it back. `record` is JSON written once by the merge:
-- both tickets' values before it (`primary_before`, `merged_before`) and the ids of what
-- moved from the merged ticket to the survivor (conversations, comments, follows, drafts,
-- activity rows, associations): what unmerge must move back. Anything that arrives on the
-- survivor after the merge is not listed, so it stays where it arrived.
CREATE TABLE ticket_merges (
    merged_id BIGINT PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    survivor_id BIGINT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    actor_user_id BIGINT REFERENCES users (id),
    merged_at BIGINT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX ticket_merges_by_survivor ON ticket_merges (survivor_id);
