-- Full-text search of requests (R7.2), PostgreSQL's half; SQLite's is
-- 00008_search.sqlite.sql. Both hold the same terms, made in Go by
-- internal/search (lowercased, ё folded, stemmed), so that one query finds
-- the same requests on either engine.

-- +goose Up
-- A table beside requests rather than a column of it: filling a column
-- for the requests of an existing database would rewrite every row (and
-- every index entry) of the largest table, and the wider rows would slow
-- every other read of it. The tsvector is built from the Go terms as they
-- are (array_to_tsvector, no text search configuration runs), without
-- positions; besides its words a request has a scope term, "§" and its
-- customer's id (store/search.go).
CREATE TABLE request_search (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    terms      TSVECTOR NOT NULL
);
CREATE INDEX request_search_terms ON request_search USING GIN (terms);

-- Requests registered before this migration are indexed in Go, in the
-- background (store/search.go): those with an id below "below" are left.
CREATE TABLE search_backlog (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    below BIGINT NOT NULL
);
INSERT INTO search_backlog (id, below) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM requests;
