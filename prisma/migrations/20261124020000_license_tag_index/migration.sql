-- The transport authorize asks whether a reported tag is sold anywhere on this server (INVALID_TAG otherwise).
CREATE INDEX "license_tag_idx" ON "license"("tag");
