-- Frontdesk schema, version 5: a full-text index for the search `query` and the web UI's
-- search box, replacing a LIKE scan of every row.
-- PostgreSQL: a stored `search_vector` per searchable object with a GIN index. The indexed
-- text is the object's searchable fields joined by spaces (the same string SQLite's FTS5
-- tables index). Every run of characters other than letters and digits becomes a space
-- before parsing, so the words are the same as SQLite's unicode61 tokenizer finds (the
-- default parser would otherwise keep `ann@example.com` or `3.14` as one token), and the
-- `simple` configuration only lower-cases: no stemming, no stop words, the same results on
-- both backends.

CREATE FUNCTION fd_search_vector(body TEXT) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('simple'::regconfig, regexp_replace(body, '[^[:alnum:]]+', ' ', 'g'));

ALTER TABLE tickets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    fd_search_vector(COALESCE(subject, '') || ' ' || COALESCE(content, ''))
) STORED;
CREATE INDEX tickets_search ON tickets USING gin (search_vector);

ALTER TABLE contacts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    fd_search_vector(COALESCE(firstname, '') || ' ' || COALESCE(lastname, '') || ' ' || COALESCE(email, '')
        || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company, ''))
) STORED;
CREATE INDEX contacts_search ON contacts USING gin (search_vector);

ALTER TABLE companies ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    fd_search_vector(COALESCE(name, '') || ' ' || COALESCE(domain, '') || ' ' || COALESCE(phone, ''))
) STORED;
CREATE INDEX companies_search ON companies USING gin (search_vector);
