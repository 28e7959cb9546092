-- The returning-author and spam-history rules look a reader up by e-mail address across the
-- site.
CREATE INDEX comments_by_email_status ON comments (author_email, status);
