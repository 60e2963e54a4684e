-- An owner checks out only from a verified WhatsApp number: the one every message of the
-- booking goes to, proven by a code sent there. Owners staff created (they booked by
-- phone) and owners who already booked count as verified.
ALTER TABLE pet_owners ADD COLUMN phone_verified_at timestamptz;
UPDATE pet_owners o SET phone_verified_at = now()
 WHERE o.phone IS NOT NULL
   AND (o.user_id IS NULL
        OR EXISTS (SELECT 1 FROM service_requests r WHERE r.owner_id = o.id));

-- The one code an owner may have pending: for this phone, until `expires_at`, at most
-- a few wrong tries. Only its hash is kept.
CREATE TABLE phone_codes (
    owner_id   uuid PRIMARY KEY REFERENCES pet_owners (id),
    phone      text NOT NULL,
    code_hash  bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every code sent, for the caps: per owner and per number (an account cannot make any
-- number's phone ring by putting it in its profile).
CREATE TABLE phone_code_sends (
    id       bigserial PRIMARY KEY,
    owner_id uuid NOT NULL REFERENCES pet_owners (id),
    phone    text NOT NULL,
    sent_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phone_code_sends_phone_idx ON phone_code_sends (phone, sent_at);
CREATE INDEX phone_code_sends_owner_idx ON phone_code_sends (owner_id, sent_at);
