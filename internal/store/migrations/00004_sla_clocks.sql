-- SLA clocks on requests (R4.4). A clock stores its events (start, stop,
-- agreed deadline); its due instant and state are derived from the plan in
-- force and the calendar, and cached here for queues and timers.

-- +goose Up
CREATE TABLE request_clocks (
    id           BIGSERIAL PRIMARY KEY,
    request_id   BIGINT NOT NULL REFERENCES requests (id),
    kind         TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    stopped_at   TIMESTAMPTZ,
    deadline     TIMESTAMPTZ,
    due_at       TIMESTAMPTZ,
    at_risk_at   TIMESTAMPTZ,
    state        TEXT NOT NULL,
    at_risk_note BOOLEAN NOT NULL DEFAULT FALSE,
    breach_note  BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (request_id, kind, seq)
);
-- Running clocks by request, read in order when clocks are recomputed;
-- and the two timers, each over the clocks it has not yet noted.
CREATE INDEX request_clocks_running ON request_clocks (request_id) WHERE stopped_at IS NULL;
CREATE INDEX request_clocks_at_risk ON request_clocks (at_risk_at) WHERE stopped_at IS NULL AND at_risk_note = FALSE;
CREATE INDEX request_clocks_breach ON request_clocks (due_at) WHERE stopped_at IS NULL AND breach_note = FALSE;

-- While a request waits on the customer every clock pauses (R3.5).
CREATE TABLE request_pauses (
    id         BIGSERIAL PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES requests (id),
    from_at    TIMESTAMPTZ NOT NULL,
    to_at      TIMESTAMPTZ
);
CREATE INDEX request_pauses_request ON request_pauses (request_id);

-- The nearest due of the request's running clocks: queues sort by it.
ALTER TABLE requests ADD COLUMN sla_due_at TIMESTAMPTZ;
CREATE INDEX requests_sla_due ON requests (sla_due_at, id);
