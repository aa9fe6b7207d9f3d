-- Performance at a million requests (issue 7; figures in bench/RESULTS.md).
-- Written once for both engines.

-- +goose Up
-- The agent's queue of one customer, nearest SLA due first. Only requests
-- with a running clock (the open few percent of a large table) are in it;
-- it carries state and priority, so the queue's filters and its count are
-- answered from the index without reading the rows.
CREATE INDEX requests_customer_due ON requests (customer_id, sla_due_at, id, state, priority) WHERE sla_due_at IS NOT NULL;
