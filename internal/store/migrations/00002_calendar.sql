-- The production calendar in force: years imported by an admin over the
-- calendar shipped in the binary (a newer decree, a correction). Written
-- once for both engines, like 00001.

-- +goose Up
CREATE TABLE calendar_years (
    id             BIGSERIAL PRIMARY KEY,
    year           INTEGER NOT NULL UNIQUE,
    source         TEXT NOT NULL DEFAULT '',  -- the decree or file the year comes from
    days           TEXT NOT NULL,             -- JSON: [{"date":"2027-01-01","kind":"holiday"}, …], the days that differ from the weekend rule
    version        BIGINT NOT NULL,           -- calendar_version.version of the import that wrote this row
    imported_at    TIMESTAMPTZ NOT NULL,
    imported_by    TEXT NOT NULL,             -- the name of who imported it ("tend" for the command line)
    imported_by_id BIGINT REFERENCES accounts (id)
);

-- One row whose version grows with every import, so each replica can
-- notice a change made by another with one cheap query.
CREATE TABLE calendar_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO calendar_version (id, version) VALUES (1, 0);
