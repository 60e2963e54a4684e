-- The walking skeleton: service requests, their append-only state history and the
-- offers made to vets. Later migrations add owners, pets, vets, catalog and money.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TYPE request_state AS ENUM (
    'pending', 'vet_asked', 'vet_accepted', 'coordinated', 'payed',
    'confirmed', 'completed', 'cancelled', 'expired'
);

CREATE TYPE vet_answer AS ENUM ('accept', 'reject');

-- The projection of each request's workflow; the workflow is its only writer after
-- creation (through the record_transition activity).
CREATE TABLE service_requests (
    id          uuid PRIMARY KEY,
    state       request_state NOT NULL DEFAULT 'pending',
    -- seq of the last state_history row applied; guards against out-of-order writes.
    state_seq   integer NOT NULL DEFAULT 0 CHECK (state_seq >= 0),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    vet_id      uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX service_requests_state_idx ON service_requests (state);

CREATE TABLE state_history (
    request_id  uuid NOT NULL REFERENCES service_requests (id),
    seq         integer NOT NULL CHECK (seq >= 0),
    from_state  request_state,
    to_state    request_state NOT NULL,
    -- 'system', 'owner:<uuid>', 'vet:<uuid>' or 'staff:<uuid>'
    actor       text NOT NULL,
    reason      text,
    -- when it happened, in workflow time
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, seq)
);

-- One row per offer of a request to a vet (VeterinarianAsked of the original system).
CREATE TABLE vet_offers (
    request_id     uuid NOT NULL REFERENCES service_requests (id),
    offer_no       integer NOT NULL CHECK (offer_no >= 0),
    vet_id         uuid,
    offered_at     timestamptz NOT NULL,
    followups_sent integer NOT NULL DEFAULT 0 CHECK (followups_sent >= 0),
    answer         vet_answer,
    answered_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, offer_no),
    CHECK ((answer IS NULL) = (answered_at IS NULL))
);
