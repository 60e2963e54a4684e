-- A payment is notified again when its status changes later (a refund, a charge-back),
-- with the same type, data.id and action as before but a new notification id: dedupe
-- on the notification too, so a repeat delivery is ignored and a new event is not.
ALTER TABLE webhook_events ADD COLUMN notification_id text NOT NULL DEFAULT '';
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_once;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_once
    UNIQUE (provider, event_type, data_id, action, notification_id);
