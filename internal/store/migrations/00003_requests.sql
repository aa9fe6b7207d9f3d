-- The service desk: requests, their comments, proposals, attachments and
-- problems (R3). Journal entries go to the shared journal table.

-- +goose Up
-- One counter row per year: the next registration number is taken under
-- the row's lock, so numbers are unique and increase on both engines.
CREATE TABLE request_counters (
    year INTEGER PRIMARY KEY,
    last BIGINT NOT NULL
);

CREATE TABLE problems (
    id              BIGSERIAL PRIMARY KEY,
    title           TEXT NOT NULL,
    analysis        TEXT NOT NULL DEFAULT '',
    root_cause      TEXT NOT NULL DEFAULT '',
    resolution_kind TEXT NOT NULL DEFAULT '',  -- update | instructions
    resolution      TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,             -- open | known_error | resolved
    product_id      BIGINT REFERENCES products (id),
    created_by      BIGINT REFERENCES accounts (id),
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE requests (
    id               BIGSERIAL PRIMARY KEY,
    number           TEXT NOT NULL UNIQUE,
    customer_id      BIGINT REFERENCES customers (id),
    product_id       BIGINT REFERENCES products (id),
    instance_id      BIGINT REFERENCES instances (id),
    requester_id     BIGINT REFERENCES accounts (id),
    requester_name   TEXT NOT NULL,
    requester_phone  TEXT NOT NULL,
    channel          TEXT NOT NULL,
    type             TEXT NOT NULL,
    priority         TEXT NOT NULL,
    state            TEXT NOT NULL,
    return_state     TEXT NOT NULL DEFAULT '',
    proposal_open    BOOLEAN NOT NULL DEFAULT FALSE,
    subject          TEXT NOT NULL,
    description      TEXT NOT NULL,
    steps            TEXT NOT NULL DEFAULT '',
    expected         TEXT NOT NULL DEFAULT '',
    actual           TEXT NOT NULL DEFAULT '',
    covered          BOOLEAN NOT NULL,
    coverage_reason  TEXT NOT NULL DEFAULT '',
    coverage_message TEXT NOT NULL DEFAULT '',
    license_id       BIGINT REFERENCES licenses (id),
    assignee_id      BIGINT REFERENCES accounts (id),
    problem_id       BIGINT REFERENCES problems (id),
    resolution       TEXT NOT NULL DEFAULT '',
    rating           INTEGER NOT NULL DEFAULT 0,
    rating_comment   TEXT NOT NULL DEFAULT '',
    waiting_since    TIMESTAMPTZ,
    reminded_at      TIMESTAMPTZ,
    resolved_at      TIMESTAMPTZ,
    closed_at        TIMESTAMPTZ,
    created_by       BIGINT REFERENCES accounts (id),
    version          BIGINT NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    last_activity_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX requests_customer ON requests (customer_id, id);
CREATE INDEX requests_requester ON requests (requester_id, id);
CREATE INDEX requests_state ON requests (state, priority, id);
CREATE INDEX requests_assignee ON requests (assignee_id, id);
CREATE INDEX requests_activity ON requests (last_activity_at, id);
CREATE INDEX requests_problem ON requests (problem_id);
-- Timers look for requests waiting on the customer or resolved too long.
CREATE INDEX requests_waiting ON requests (waiting_since) WHERE waiting_since IS NOT NULL;
CREATE INDEX requests_resolved ON requests (resolved_at) WHERE state = 'resolved';

CREATE TABLE comments (
    id          BIGSERIAL PRIMARY KEY,
    request_id  BIGINT NOT NULL REFERENCES requests (id),
    author_id   BIGINT REFERENCES accounts (id),
    author_name TEXT NOT NULL,
    from_staff  BOOLEAN NOT NULL,
    internal    BOOLEAN NOT NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX comments_request ON comments (request_id, id);

CREATE TABLE proposals (
    id           BIGSERIAL PRIMARY KEY,
    request_id   BIGINT NOT NULL REFERENCES requests (id),
    version      INTEGER NOT NULL,
    scope        TEXT NOT NULL DEFAULT '',
    effort_hours DOUBLE PRECISION NOT NULL DEFAULT 0,
    deadline     TIMESTAMPTZ NOT NULL,
    status       TEXT NOT NULL,
    proposed_by  TEXT NOT NULL,
    proposed_at  TIMESTAMPTZ NOT NULL,
    decided_by   TEXT NOT NULL DEFAULT '',
    decided_at   TIMESTAMPTZ,
    comment      TEXT NOT NULL DEFAULT '',
    UNIQUE (request_id, version)
);

CREATE TABLE attachments (
    id           BIGSERIAL PRIMARY KEY,
    request_id   BIGINT NOT NULL REFERENCES requests (id),
    comment_id   BIGINT REFERENCES comments (id),
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    blob_key     TEXT NOT NULL,
    internal     BOOLEAN NOT NULL DEFAULT FALSE,
    uploaded_by  BIGINT REFERENCES accounts (id),
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_request ON attachments (request_id, id);

-- A retried POST with the same Idempotency-Key finds its first result here;
-- the key is written in the same transaction as that result.
CREATE TABLE idempotency_keys (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result_id   BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, key)
);
