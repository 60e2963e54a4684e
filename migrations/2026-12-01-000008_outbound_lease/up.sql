-- A send's claim is a lease: `claimed_until` while an attempt is sending; a lease that
-- ran out without `sent_at` was interrupted mid-flight and is `uncertain_at` from then
-- on, like a send the provider did not answer: neither is ever sent again blind.
ALTER TABLE outbound_messages
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN uncertain_at  timestamptz,
    ADD COLUMN attempts      integer NOT NULL DEFAULT 0;
