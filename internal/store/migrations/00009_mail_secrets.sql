-- Secrets kept in the database sealed at rest (issue 6): AES-256-GCM under
-- the server's secret key, which never enters the database. Mailbox
-- passwords and the key that signs reply-to addresses stored in plain text
-- before this migration are sealed, and the plain column emptied, when a
-- server starts with its key (Store.UseSecretKey); the reply-address key
-- keeps its value, so reply-to addresses already sent stay valid.
-- Written once for both engines.

-- +goose Up
ALTER TABLE mailboxes ADD COLUMN password_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_settings ADD COLUMN secret_sealed TEXT NOT NULL DEFAULT '';
