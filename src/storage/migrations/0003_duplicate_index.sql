-- The duplicate check looks comments up by article and e-mail on every submission.
CREATE INDEX comments_by_article_email ON comments (article, author_email);
