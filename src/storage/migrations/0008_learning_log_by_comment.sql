-- Finds a comment's learning-log entries: whether a published comment was learned already
-- (implicit ham, learned once), and the implicit entry a moderator's later label takes back.
CREATE INDEX learning_log_by_comment ON learning_log (comment_id, source);
