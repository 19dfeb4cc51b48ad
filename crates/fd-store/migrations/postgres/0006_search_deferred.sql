-- Frontdesk schema, version 6. On SQLite this version moves full-text indexing to the end of
-- each write transaction; PostgreSQL's index is a generated column and needs no change. The
-- version exists so both folders keep the same numbers.
SELECT 1;
