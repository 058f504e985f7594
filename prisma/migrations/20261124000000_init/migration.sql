-- CreateEnum
CREATE TYPE "AccountStatus" AS ENUM ('REQUESTED', 'ACTIVE', 'INACTIVE');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('admin', 'operator');

-- CreateEnum
CREATE TYPE "InstanceStatus" AS ENUM ('REGISTERED', 'DEREGISTERED');

-- CreateTable
CREATE TABLE "local_account" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "smart_account" TEXT,
    "contact_email" TEXT,
    "description" TEXT,
    "status" "AccountStatus" NOT NULL DEFAULT 'REQUESTED',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "approved_at" TIMESTAMPTZ(3),

    CONSTRAINT "local_account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "virtual_account" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "virtual_account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "app_user" (
    "id" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "app_user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "registration_token" (
    "id" UUID NOT NULL,
    "virtual_account_id" UUID NOT NULL,
    "description" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "max_uses" INTEGER NOT NULL,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "export_controlled" BOOLEAN NOT NULL DEFAULT false,
    "revoked_at" TIMESTAMPTZ(3),
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "registration_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_client" (
    "id" UUID NOT NULL,
    "client_id" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_client_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "license" (
    "id" UUID NOT NULL,
    "virtual_account_id" UUID NOT NULL,
    "tag" TEXT NOT NULL,
    "display_name" TEXT NOT NULL,
    "billing_type" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "starts_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "family" TEXT,
    "tier" INTEGER,
    "source" TEXT NOT NULL DEFAULT 'IMPORT',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "license_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "product_instance" (
    "id" UUID NOT NULL,
    "virtual_account_id" UUID NOT NULL,
    "token_id" UUID,
    "udi_pid" TEXT NOT NULL,
    "udi_sn" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "product_type" TEXT NOT NULL,
    "software_version" TEXT,
    "status" "InstanceStatus" NOT NULL DEFAULT 'REGISTERED',
    "export_controlled" BOOLEAN NOT NULL DEFAULT false,
    "cert_serial" TEXT NOT NULL,
    "cert_pem" TEXT NOT NULL,
    "public_key_pem" TEXT NOT NULL,
    "cert_not_after" TIMESTAMPTZ(3) NOT NULL,
    "registered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_contact_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deregistered_at" TIMESTAMPTZ(3),

    CONSTRAINT "product_instance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage" (
    "product_instance_id" UUID NOT NULL,
    "tag" TEXT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "usage_pkey" PRIMARY KEY ("product_instance_id","tag")
);

-- CreateTable
CREATE TABLE "usage_total" (
    "virtual_account_id" UUID NOT NULL,
    "tag" TEXT NOT NULL,
    "in_use" INTEGER NOT NULL,

    CONSTRAINT "usage_total_pkey" PRIMARY KEY ("virtual_account_id","tag")
);

-- CreateTable
CREATE TABLE "idempotency_record" (
    "sender" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "http_status" INTEGER NOT NULL,
    "body" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_record_pkey" PRIMARY KEY ("sender","jti")
);

-- CreateTable
CREATE TABLE "key_material" (
    "name" TEXT NOT NULL,
    "cert_pem" TEXT,
    "key_encrypted" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "key_material_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "setting" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "setting_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "event_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "object_type" TEXT NOT NULL,
    "object_id" TEXT,
    "outcome" TEXT NOT NULL,
    "details" JSONB,

    CONSTRAINT "event_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sync_run" (
    "id" UUID NOT NULL,
    "mode" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "outcome" TEXT NOT NULL DEFAULT 'PENDING',
    "error" TEXT,
    "requested_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sync_run_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "local_account_name_key" ON "local_account"("name");

-- CreateIndex
CREATE UNIQUE INDEX "virtual_account_account_id_name_key" ON "virtual_account"("account_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "app_user_username_key" ON "app_user"("username");

-- CreateIndex
CREATE INDEX "registration_token_virtual_account_id_idx" ON "registration_token"("virtual_account_id");

-- CreateIndex
CREATE UNIQUE INDEX "api_client_client_id_key" ON "api_client"("client_id");

-- CreateIndex
CREATE INDEX "license_virtual_account_id_tag_idx" ON "license"("virtual_account_id", "tag");

-- CreateIndex
CREATE INDEX "product_instance_virtual_account_id_name_idx" ON "product_instance"("virtual_account_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "product_instance_udi_pid_udi_sn_key" ON "product_instance"("udi_pid", "udi_sn");

-- CreateIndex
CREATE INDEX "idempotency_record_created_at_idx" ON "idempotency_record"("created_at");

-- CreateIndex
CREATE INDEX "event_log_at_idx" ON "event_log"("at");

-- CreateIndex
CREATE UNIQUE INDEX "sync_run_request_id_key" ON "sync_run"("request_id");

-- AddForeignKey
ALTER TABLE "virtual_account" ADD CONSTRAINT "virtual_account_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "local_account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "registration_token" ADD CONSTRAINT "registration_token_virtual_account_id_fkey" FOREIGN KEY ("virtual_account_id") REFERENCES "virtual_account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_client" ADD CONSTRAINT "api_client_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "local_account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "license" ADD CONSTRAINT "license_virtual_account_id_fkey" FOREIGN KEY ("virtual_account_id") REFERENCES "virtual_account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "product_instance" ADD CONSTRAINT "product_instance_virtual_account_id_fkey" FOREIGN KEY ("virtual_account_id") REFERENCES "virtual_account"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "product_instance" ADD CONSTRAINT "product_instance_token_id_fkey" FOREIGN KEY ("token_id") REFERENCES "registration_token"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage" ADD CONSTRAINT "usage_product_instance_id_fkey" FOREIGN KEY ("product_instance_id") REFERENCES "product_instance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_total" ADD CONSTRAINT "usage_total_virtual_account_id_fkey" FOREIGN KEY ("virtual_account_id") REFERENCES "virtual_account"("id") ON DELETE CASCADE ON UPDATE CASCADE;
