-- The key of the message a row posts or edits, so that a queued edit can be
-- replaced by a newer one instead of queueing both.
ALTER TABLE outbox ADD COLUMN msg_key TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_pending_key ON outbox(lane, msg_key, id) WHERE state = 'pending' AND msg_key != '';
