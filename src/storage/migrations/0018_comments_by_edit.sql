-- The in-memory key index reads readers' edits by time (key_index::EDIT_SKEW): only edited rows
-- are in this index, so that read costs the edits, not the table.
CREATE INDEX comments_by_edit ON comments (edited_at, id) WHERE edited_at IS NOT NULL;
