-- What an API client may do: read (licenses, alerts, devices, token metadata) or manage (also token
-- strings, creating and revoking tokens, creating virtual accounts). Existing clients keep reading only.
ALTER TABLE "api_client" ADD COLUMN "permission" TEXT NOT NULL DEFAULT 'read';
ALTER TABLE "api_client" ADD CONSTRAINT "api_client_permission_check" CHECK ("permission" IN ('read', 'manage'));

-- Bumped when the secret is rotated: access tokens carry the generation they were issued under,
-- so rotating the secret also ends the tokens issued with the old one.
ALTER TABLE "api_client" ADD COLUMN "generation" INTEGER NOT NULL DEFAULT 0;
