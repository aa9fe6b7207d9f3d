-- The foundation: people, customers, products, plans, licenses, instances,
-- tokens, sessions and the journal. Written once for both engines; the
-- SQLite spelling of a few types is substituted in store/dialect.go.

-- +goose Up
CREATE TABLE customers (
    id          BIGSERIAL PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE accounts (
    id            BIGSERIAL PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    department    TEXT NOT NULL DEFAULT '',
    customer_id   BIGINT REFERENCES customers (id),
    lang          TEXT NOT NULL DEFAULT 'ru',
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    session_epoch BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX accounts_customer ON accounts (customer_id, id);

CREATE TABLE products (
    id          BIGSERIAL PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    delivery    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE plans (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    window_start    TEXT NOT NULL,
    window_end      TEXT NOT NULL,
    zone            TEXT NOT NULL,
    emergency_24x7  BOOLEAN NOT NULL,
    targets         TEXT NOT NULL,  -- JSON: {"emergency": {...}, "normal": {...}}
    at_risk_percent INTEGER NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE licenses (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers (id),
    product_id   BIGINT NOT NULL REFERENCES products (id),
    plan_id      BIGINT NOT NULL REFERENCES plans (id),
    valid_from   TEXT NOT NULL,  -- YYYY-MM-DD
    valid_to     TEXT NOT NULL,
    entitlements TEXT NOT NULL,  -- JSON array
    notes        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX licenses_customer ON licenses (customer_id, product_id);

CREATE TABLE instances (
    id          BIGSERIAL PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    product_id  BIGINT NOT NULL REFERENCES products (id),
    name        TEXT NOT NULL,
    environment TEXT NOT NULL,
    version     TEXT NOT NULL DEFAULT '',
    components  TEXT NOT NULL,  -- JSON array of {name, version}
    contact_id  BIGINT REFERENCES accounts (id),
    location    TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (customer_id, name)
);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- Browser sessions (the scs store).
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BYTEA NOT NULL,
    expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- The append-only journal: who did what to which record, before and after.
CREATE TABLE journal (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    BIGINT,
    actor_name  TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   BIGINT NOT NULL,
    customer_id BIGINT,
    action      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX journal_entity ON journal (entity, entity_id, id);
CREATE INDEX journal_customer ON journal (customer_id, id);
