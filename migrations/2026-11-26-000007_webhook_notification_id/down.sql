ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_once;
DELETE FROM webhook_events a USING webhook_events b
 WHERE a.id > b.id AND (a.provider, a.event_type, a.data_id, a.action) = (b.provider, b.event_type, b.data_id, b.action);
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_once UNIQUE (provider, event_type, data_id, action);
ALTER TABLE webhook_events DROP COLUMN notification_id;
