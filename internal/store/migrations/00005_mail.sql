-- The e-mail channel (R3.1, R3.4, R6.3): the mailboxes tend reads, every
-- message that came in or went out, the outbox of notices, and who asked
-- for less mail. Written once for both engines, like 00001.

-- +goose Up
-- IMAP mailboxes. The read position (uid_validity, last_uid) is written in
-- the same transaction as what a message became, so a crash in the middle
-- of a poll neither loses nor repeats a message.
CREATE TABLE mailboxes (
    id             BIGSERIAL PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    host           TEXT NOT NULL,
    port           INTEGER NOT NULL,
    security       TEXT NOT NULL,              -- tls | starttls | plain
    username       TEXT NOT NULL,
    password       TEXT NOT NULL DEFAULT '',   -- never answered by the API
    folder         TEXT NOT NULL DEFAULT 'INBOX',
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    poll_seconds   INTEGER NOT NULL DEFAULT 60, -- used when the server has no IDLE
    product_id     BIGINT REFERENCES products (id), -- the product a contact's new mail is about when not clear
    source         TEXT NOT NULL DEFAULT 'api',     -- api | config (from --imap)
    uid_validity   BIGINT NOT NULL DEFAULT 0,
    last_uid       BIGINT NOT NULL DEFAULT 0,
    last_polled_at TIMESTAMPTZ,
    last_error     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Every message in and out. message_id is unique: a message is processed
-- once, whichever mailbox, listener or replica saw it first.
CREATE TABLE mail_messages (
    id          BIGSERIAL PRIMARY KEY,
    direction   TEXT NOT NULL,                -- in | out
    message_id  TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,                -- imap | smtp | outbox
    mailbox_id  BIGINT REFERENCES mailboxes (id),
    uid         BIGINT NOT NULL DEFAULT 0,
    from_addr   TEXT NOT NULL DEFAULT '',
    from_name   TEXT NOT NULL DEFAULT '',
    to_addr     TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL,
    blob_key    TEXT NOT NULL DEFAULT '',     -- the original .eml (inbound)
    size        BIGINT NOT NULL DEFAULT 0,
    sha256      TEXT NOT NULL DEFAULT '',
    request_id  BIGINT REFERENCES requests (id),
    comment_id  BIGINT REFERENCES comments (id),
    outbox_id   BIGINT,
    outcome     TEXT NOT NULL,                -- request | triage | comment | note | ignored | rate_limited | rejected | sent
    reason      TEXT NOT NULL DEFAULT '',
    internal    BOOLEAN NOT NULL DEFAULT FALSE -- customers never see it (a note from a stranger)
);
CREATE INDEX mail_messages_request ON mail_messages (request_id, id);
CREATE INDEX mail_messages_sender ON mail_messages (from_addr, at);

-- Where a request that came by mail from someone without an account (the
-- triage queue) is answered.
CREATE TABLE mail_requesters (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    address    TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    lang       TEXT NOT NULL DEFAULT 'ru'
);

-- Notices waiting to go out, written in the transaction of the event they
-- tell about; a sweep sends them with retries and backoff.
CREATE TABLE mail_outbox (
    id              BIGSERIAL PRIMARY KEY,
    request_id      BIGINT REFERENCES requests (id),
    comment_id      BIGINT REFERENCES comments (id),
    kind            TEXT NOT NULL,
    account_id      BIGINT REFERENCES accounts (id),
    to_addr         TEXT NOT NULL,
    to_name         TEXT NOT NULL DEFAULT '',
    lang            TEXT NOT NULL,
    token           TEXT NOT NULL,            -- the Message-ID's unique part, kept across retries
    state           TEXT NOT NULL,            -- pending | sending | sent | failed | expired
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX mail_outbox_request ON mail_outbox (request_id, id);

-- Who asked for essential mail only (R6.3: notices go over the agreed channels).
CREATE TABLE mail_prefs (
    account_id    BIGINT PRIMARY KEY REFERENCES accounts (id),
    essential_only BOOLEAN NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- The key that signs reply-to addresses, made once and shared by replicas.
CREATE TABLE mail_settings (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);
