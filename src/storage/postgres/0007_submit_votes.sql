-- Akismet submits without a stored check (issue #27): each key's submits teach that key's own
-- model layer only (`layer` names it, `akismet:KEY_ID`, for log entries with no comment), and a
-- key has one vote per text: a repeated submit of the same text changes nothing, a submit with
-- the other label replaces the key's earlier vote. Older rows (no key) stay as they were.
ALTER TABLE learning_log ADD COLUMN layer TEXT;
ALTER TABLE training_examples ADD COLUMN key_id BIGINT REFERENCES api_keys(id);
ALTER TABLE training_examples ADD COLUMN text_sha256 TEXT;
CREATE UNIQUE INDEX training_examples_one_vote ON training_examples (key_id, text_sha256);
-- A moderator can take back what a submit taught: the entry that reverses it names it here.
ALTER TABLE learning_log ADD COLUMN takes_back BIGINT;
