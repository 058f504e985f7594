-- The event log is filtered by action, actor and object (newest first); products add to it on every registration.
CREATE INDEX "event_log_action_id_idx" ON "event_log"("action", "id");
CREATE INDEX "event_log_actor_id_idx" ON "event_log"("actor", "id");
CREATE INDEX "event_log_object_id_id_idx" ON "event_log"("object_id", "id");
