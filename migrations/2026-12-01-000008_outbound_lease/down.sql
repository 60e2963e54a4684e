ALTER TABLE outbound_messages
    DROP COLUMN claimed_until,
    DROP COLUMN uncertain_at,
    DROP COLUMN attempts;
