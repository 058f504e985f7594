-- An admin tells an account's API clients apart by name.
CREATE UNIQUE INDEX "api_client_account_id_name_key" ON "api_client"("account_id", "name");

-- A token is never used more often than allowed, whatever writes the row (Prisma cannot express CHECKs).
ALTER TABLE "registration_token" ADD CONSTRAINT "registration_token_uses_check" CHECK ("max_uses" >= 1 AND "uses" >= 0 AND "uses" <= "max_uses");
