-- Repeats of a firing alert reach the case log as one summary entry per
-- alert every few seconds, not one per request: during a storm the entries
-- were most of intake's cost and a wall of noise in the timeline. The
-- count stays exact and durable in alert_state; logged is the count as of
-- the alert's last case-log entry and unlogged_since the first sighting
-- after it, so a restart writes what a crash left unsummarised.
ALTER TABLE alert_state ADD COLUMN logged INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_state ADD COLUMN unlogged_since INTEGER;
UPDATE alert_state SET logged = count;
CREATE INDEX alert_state_unlogged ON alert_state(unlogged_since) WHERE unlogged_since IS NOT NULL;
