-- Registration numbers on PostgreSQL come from a sequence per year
-- (numbers.go, issue 7): the counter row of 00003 was locked from a
-- registration's number to its commit, and registrations queued behind
-- it. The sequences continue where the counters stopped; SQLite keeps
-- counting in request_counters under its one writer.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT year, last FROM request_counters WHERE last > 0 LOOP
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', 'request_numbers_' || c.year);
        PERFORM setval(format('%I', 'request_numbers_' || c.year)::regclass, c.last);
    END LOOP;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
DECLARE s record;
BEGIN
    FOR s IN SELECT sequencename, last_value FROM pg_sequences
        WHERE schemaname = current_schema() AND sequencename LIKE 'request\_numbers\_%' LOOP
        IF s.last_value IS NOT NULL THEN
            INSERT INTO request_counters (year, last) VALUES (substr(s.sequencename, 17)::int, s.last_value)
            ON CONFLICT (year) DO UPDATE SET last = excluded.last;
        END IF;
        EXECUTE format('DROP SEQUENCE %I', s.sequencename);
    END LOOP;
END $$;
-- +goose StatementEnd
