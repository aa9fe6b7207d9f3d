-- Fewer index writes per registration (issue 7). A request is registered
-- with no assignee and no problem, and most never get a problem: their
-- indexes now hold only the requests that have one. Lookups by an assignee
-- or a problem ("assignee_id = ?") use them as before on both engines.
-- Written once for both engines.

-- +goose Up
DROP INDEX requests_assignee;
CREATE INDEX requests_assignee ON requests (assignee_id, id) WHERE assignee_id IS NOT NULL;
DROP INDEX requests_problem;
CREATE INDEX requests_problem ON requests (problem_id) WHERE problem_id IS NOT NULL;

-- +goose Down
DROP INDEX requests_assignee;
CREATE INDEX requests_assignee ON requests (assignee_id, id);
DROP INDEX requests_problem;
CREATE INDEX requests_problem ON requests (problem_id);
