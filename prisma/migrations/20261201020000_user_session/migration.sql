-- Server-side sessions: every admin request checks its session row and the user's current role,
-- so logout, deletion, demotion and password changes take effect at once (issue 9, finding 1).
CREATE TABLE "user_session" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_session_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "user_session_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "app_user"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX "user_session_user_id_idx" ON "user_session"("user_id");
CREATE INDEX "user_session_expires_at_idx" ON "user_session"("expires_at");
