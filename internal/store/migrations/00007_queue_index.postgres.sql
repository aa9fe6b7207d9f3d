-- The customer's queue index, respelled for PostgreSQL (issue 7; figures in
-- bench/RESULTS.md). SQLite keeps the one from 00006.

-- +goose Up
-- State and priority are carried, not keyed: as key columns the queue's
-- "state = ANY (…)" became an index condition, which in PostgreSQL 15
-- gives up the index order and sorts every match; carried, they filter an
-- index-only scan that walks the queue in order and stops at the page.
DROP INDEX requests_customer_due;
CREATE INDEX requests_customer_due ON requests (customer_id, sla_due_at, id) INCLUDE (state, priority) WHERE sla_due_at IS NOT NULL;

-- +goose Down
DROP INDEX requests_customer_due;
CREATE INDEX requests_customer_due ON requests (customer_id, sla_due_at, id, state, priority) WHERE sla_due_at IS NOT NULL;
