-- A post imported as an embedding site's page whose comments were closed on the old site
-- (WordPress closes old posts' comments) stays closed: new comments on its thread are refused.
ALTER TABLE threads ADD COLUMN comments_open BOOLEAN NOT NULL DEFAULT TRUE;
