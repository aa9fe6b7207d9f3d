-- Full-text search of requests (R7.2), SQLite's half; PostgreSQL's is
-- 00008_search.postgres.sql. Both hold the same terms, made in Go by
-- internal/search (lowercased, ё folded, stemmed), so that one query finds
-- the same requests on either engine.

-- +goose Up
-- Contentless: the text stays in requests, the index keeps only which
-- request has which term (rowid = requests.id). detail=none drops
-- positions (no phrase search, a fraction of the size); the ascii
-- tokenizer only splits the space-separated terms and leaves Cyrillic as
-- it is given. contentless_delete lets a request's terms be replaced.
-- Besides its words a request has a scope term, "§" and its customer's id
-- (store/search.go).
CREATE VIRTUAL TABLE request_search USING fts5(terms, content='', contentless_delete=1, detail=none, tokenize='ascii');
-- Each transaction that writes to the index adds a segment to it, merged
-- with others once there are automerge of a level: 16 rather than the
-- default 4 merges less often, which took a sixth off the index's share of
-- a registration for a few percent more time reading a term.
INSERT INTO request_search (request_search, rank) VALUES ('automerge', 16);

-- A registration's terms wait here, found by searches, until a sweep
-- moves them into request_search in a batch (store/dialect.go
-- stageSearchDoc): FTS5 writes a segment for every transaction.
CREATE TABLE request_search_pending (
    request_id INTEGER PRIMARY KEY,
    terms      TEXT NOT NULL
);

-- Every term in the index, for a prefix to become the terms it begins
-- (store/dialect.go searchArg): FTS5 reads a prefix's postings all at once,
-- whole terms a page at a time.
CREATE TABLE request_search_terms (
    term TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Requests registered before this migration are indexed in Go, in the
-- background (store/search.go): those with an id below "below" are left.
CREATE TABLE search_backlog (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    below BIGINT NOT NULL
);
INSERT INTO search_backlog (id, below) SELECT 1, COALESCE(MAX(id), 0) + 1 FROM requests;
