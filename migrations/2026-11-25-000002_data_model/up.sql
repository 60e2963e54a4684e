-- The data model of every cluster of DOMAIN.md, designed once. Soft delete (deleted_at)
-- on most tables, never on money or invoice rows; timestamps in UTC (timestamptz).
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TYPE pet_sex AS ENUM ('female', 'male', 'unknown');
CREATE TYPE amount_kind AS ENUM ('fixed', 'percent');
CREATE TYPE cart_status AS ENUM ('open', 'checked_out');
CREATE TYPE visit_status AS ENUM ('scheduled', 'completed', 'cancelled');
CREATE TYPE payment_status AS ENUM (
    'pending', 'approved', 'authorized', 'in_process', 'in_mediation',
    'rejected', 'cancelled', 'refunded', 'charged_back'
);

-- Users & auth ------------------------------------------------------------------------
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    -- NULL until the user sets a password (owners booked by phone).
    password_hash text,
    full_name     text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    is_staff      boolean NOT NULL DEFAULT false,
    is_active     boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (email) WHERE deleted_at IS NULL;

-- Refresh tokens rotate on every use; a reused one revokes its whole family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    family_id   uuid NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- One-time tokens to set a password (welcome links for users created by staff).
CREATE TABLE password_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id),
    token_hash  bytea NOT NULL UNIQUE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE login_attempts (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL,
    address    text,
    succeeded  boolean NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_email_idx ON login_attempts (email, at);
CREATE INDEX login_attempts_address_idx ON login_attempts (address, at);

-- Reference data -----------------------------------------------------------------------
CREATE TABLE species (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE breeds (
    id         uuid PRIMARY KEY,
    species_id uuid NOT NULL REFERENCES species (id),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (species_id, name),
    -- target of pets' (breed_id, species_id): a breed belongs to its species
    UNIQUE (id, species_id)
);

CREATE TABLE specialties (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE vaccines (
    id            uuid PRIMARY KEY,
    species_id    uuid REFERENCES species (id),
    name          text NOT NULL,
    -- days until the next dose; NULL when there is none
    interval_days integer CHECK (interval_days > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    UNIQUE (species_id, name)
);

CREATE TABLE study_types (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- AFIP codes are the keys: CondicionIVAReceptorId and DocTipo.
CREATE TABLE vat_conditions (
    id         smallint PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE document_types (
    id         smallint PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE neighborhoods (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL UNIQUE,
    area                 geography(MultiPolygon, 4326) NOT NULL,
    distance_coefficient numeric(6, 3) NOT NULL CHECK (distance_coefficient > 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz
);
CREATE INDEX neighborhoods_area_idx ON neighborhoods USING gist (area);

-- Owners & pets --------------------------------------------------------------------------
CREATE TABLE pet_owners (
    id               uuid PRIMARY KEY,
    -- NULL for owners booked by phone until they get a login.
    user_id          uuid UNIQUE REFERENCES users (id),
    full_name        text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    email            text CHECK (email = lower(email)),
    phone            text,
    document_type_id smallint REFERENCES document_types (id),
    document_number  text,
    vat_condition_id smallint REFERENCES vat_conditions (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    CHECK ((document_type_id IS NULL) = (document_number IS NULL))
);

CREATE TABLE owner_addresses (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES pet_owners (id),
    label      text,
    street     text NOT NULL,
    details    text,
    city       text NOT NULL DEFAULT 'Ciudad Autónoma de Buenos Aires',
    location   geography(Point, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    UNIQUE (id, owner_id)
);
CREATE INDEX owner_addresses_location_idx ON owner_addresses USING gist (location);

CREATE TABLE pets (
    id          uuid PRIMARY KEY,
    owner_id    uuid NOT NULL REFERENCES pet_owners (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    species_id  uuid NOT NULL REFERENCES species (id),
    breed_id    uuid,
    sex         pet_sex NOT NULL DEFAULT 'unknown',
    neutered    boolean NOT NULL DEFAULT false,
    birth_date  date,
    microchip   text,
    deceased    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CONSTRAINT pets_breed_of_species_fkey FOREIGN KEY (breed_id, species_id)
        REFERENCES breeds (id, species_id),
    UNIQUE (id, owner_id)
);
CREATE UNIQUE INDEX pets_microchip_key ON pets (microchip) WHERE microchip IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE vaccine_applications (
    id          uuid PRIMARY KEY,
    pet_id      uuid NOT NULL REFERENCES pets (id),
    vaccine_id  uuid NOT NULL REFERENCES vaccines (id),
    batch       text,
    applied_on  date NOT NULL,
    next_due_on date CHECK (next_due_on IS NULL OR next_due_on > applied_on),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE studies (
    id            uuid PRIMARY KEY,
    pet_id        uuid NOT NULL REFERENCES pets (id),
    study_type_id uuid NOT NULL REFERENCES study_types (id),
    performed_on  date NOT NULL,
    notes         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz
);

CREATE TABLE study_files (
    id           uuid PRIMARY KEY,
    study_id     uuid NOT NULL REFERENCES studies (id),
    storage_key  text NOT NULL UNIQUE,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);

-- Veterinarians -----------------------------------------------------------------------------
CREATE TABLE veterinarians (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL UNIQUE REFERENCES users (id),
    full_name      text NOT NULL,
    license_number text NOT NULL,
    cuit           text NOT NULL CHECK (cuit ~ '^[0-9]{11}$'),
    phone          text NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz
);
CREATE UNIQUE INDEX veterinarians_license_key ON veterinarians (license_number) WHERE deleted_at IS NULL;

CREATE TABLE vet_specialties (
    vet_id       uuid NOT NULL REFERENCES veterinarians (id),
    specialty_id uuid NOT NULL REFERENCES specialties (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vet_id, specialty_id)
);

-- Weekly availability in the business zone's local time (America/Argentina/Buenos_Aires);
-- weekday 1 = Monday ... 7 = Sunday (ISO).
CREATE TABLE vet_availability (
    id         uuid PRIMARY KEY,
    vet_id     uuid NOT NULL REFERENCES veterinarians (id),
    weekday    smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    starts_at  time NOT NULL,
    ends_at    time NOT NULL CHECK (ends_at > starts_at),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX vet_availability_vet_idx ON vet_availability (vet_id, weekday);

CREATE TABLE vet_time_off (
    id         uuid PRIMARY KEY,
    vet_id     uuid NOT NULL REFERENCES veterinarians (id),
    during     tstzrange NOT NULL CHECK (NOT isempty(during)),
    reason     text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX vet_time_off_idx ON vet_time_off USING gist (vet_id, during);

CREATE TABLE vet_coverage_areas (
    id         uuid PRIMARY KEY,
    vet_id     uuid NOT NULL REFERENCES veterinarians (id),
    name       text NOT NULL,
    area       geography(Polygon, 4326) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX vet_coverage_areas_area_idx ON vet_coverage_areas USING gist (area);

-- Services & pricing -------------------------------------------------------------------------
CREATE TABLE services (
    id               uuid PRIMARY KEY,
    code             text NOT NULL UNIQUE,
    name             text NOT NULL,
    description      text,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 600),
    specialty_id     uuid REFERENCES specialties (id),
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz
);

-- Versioned prices (ARS). Money rows are never deleted. For one service and one vet (or
-- the general price, vet_id NULL) validity ranges never overlap.
CREATE TABLE prices (
    id          uuid PRIMARY KEY,
    service_id  uuid NOT NULL REFERENCES services (id),
    vet_id      uuid REFERENCES veterinarians (id),
    amount      numeric(12, 2) NOT NULL CHECK (amount > 0),
    valid_from  date NOT NULL,
    valid_until date,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CONSTRAINT prices_no_overlap EXCLUDE USING gist (
        service_id WITH =,
        (coalesce(vet_id, '00000000-0000-0000-0000-000000000000'::uuid)) WITH =,
        daterange(valid_from, valid_until, '[)') WITH &&
    )
);

CREATE TABLE turn_fee_groups (
    id         uuid PRIMARY KEY,
    code       text NOT NULL UNIQUE,
    name       text NOT NULL,
    kind       amount_kind NOT NULL,
    value      numeric(12, 2) NOT NULL CHECK (value >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CHECK (kind = 'fixed' OR value <= 100)
);

CREATE TABLE discounts (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    service_id  uuid REFERENCES services (id),
    kind        amount_kind NOT NULL,
    value       numeric(12, 2) NOT NULL CHECK (value > 0),
    valid_from  date NOT NULL,
    valid_until date,
    -- ISO weekdays it applies on; NULL = every day
    weekdays    smallint[] CHECK (weekdays <@ ARRAY[1,2,3,4,5,6,7]::smallint[]),
    -- local time-of-day window; NULL = all day
    time_from   time,
    time_until  time,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz,
    CHECK (kind = 'fixed' OR value <= 100),
    CHECK (valid_until IS NULL OR valid_until > valid_from),
    CHECK ((time_from IS NULL) = (time_until IS NULL))
);

-- Cart & checkout ----------------------------------------------------------------------------
CREATE TABLE carts (
    id         uuid PRIMARY KEY,
    owner_id   uuid NOT NULL REFERENCES pet_owners (id),
    status     cart_status NOT NULL DEFAULT 'open',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX carts_one_open_per_owner ON carts (owner_id) WHERE status = 'open';

CREATE TABLE cart_items (
    id                uuid PRIMARY KEY,
    cart_id           uuid NOT NULL REFERENCES carts (id),
    service_id        uuid NOT NULL REFERENCES services (id),
    pet_id            uuid NOT NULL REFERENCES pets (id),
    address_id        uuid NOT NULL REFERENCES owner_addresses (id),
    wanted            tstzrange NOT NULL CHECK (NOT isempty(wanted)),
    turn_fee_group_id uuid REFERENCES turn_fee_groups (id),
    quote             jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);

-- Idempotent checkout: one row per Idempotency-Key and owner; the response is replayed.
CREATE TABLE checkouts (
    owner_id        uuid NOT NULL REFERENCES pet_owners (id),
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, idempotency_key)
);

-- Service requests (created by the skeleton migration) gain what checkout freezes.
ALTER TABLE service_requests
    ADD COLUMN owner_id          uuid REFERENCES pet_owners (id),
    ADD COLUMN pet_id            uuid REFERENCES pets (id),
    ADD COLUMN service_id        uuid REFERENCES services (id),
    ADD COLUMN address_id        uuid REFERENCES owner_addresses (id),
    ADD COLUMN wanted            tstzrange,
    ADD COLUMN turn_fee_group_id uuid REFERENCES turn_fee_groups (id),
    ADD COLUMN price_breakdown   jsonb,
    ADD COLUMN total             numeric(12, 2) CHECK (total >= 0),
    ADD COLUMN currency          char(3) NOT NULL DEFAULT 'ARS',
    ADD COLUMN scheduled_start   timestamptz,
    ADD COLUMN workflow_started  boolean NOT NULL DEFAULT true;
CREATE INDEX service_requests_owner_idx ON service_requests (owner_id);
CREATE INDEX service_requests_vet_idx ON service_requests (vet_id);
-- The outbox of workflows to start (checkout while Temporal is down).
CREATE INDEX service_requests_unstarted_idx ON service_requests (created_at) WHERE NOT workflow_started;

-- Payments (money: never soft-deleted) -----------------------------------------------------------
CREATE TABLE mp_preferences (
    id                 text PRIMARY KEY,
    request_id         uuid NOT NULL REFERENCES service_requests (id),
    idempotency_key    text NOT NULL UNIQUE,
    init_point         text NOT NULL,
    amount             numeric(12, 2) NOT NULL CHECK (amount > 0),
    currency           char(3) NOT NULL DEFAULT 'ARS',
    expires_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    id             bigint PRIMARY KEY, -- MercadoPago's payment id
    request_id     uuid NOT NULL REFERENCES service_requests (id),
    status         payment_status NOT NULL,
    status_detail  text,
    amount         numeric(12, 2) NOT NULL,
    currency       char(3) NOT NULL,
    date_approved  timestamptz,
    refunded_amount numeric(12, 2) NOT NULL DEFAULT 0,
    raw            jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_request_idx ON payments (request_id);

CREATE TABLE webhook_events (
    id          bigserial PRIMARY KEY,
    provider    text NOT NULL,
    event_type  text NOT NULL,
    data_id     text NOT NULL,
    action      text NOT NULL,
    request_id  text,
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    CONSTRAINT webhook_events_once UNIQUE (provider, event_type, data_id, action)
);

-- Visits, reports, invoices --------------------------------------------------------------------
CREATE TABLE visits (
    id                uuid PRIMARY KEY,
    request_id        uuid NOT NULL UNIQUE REFERENCES service_requests (id),
    vet_id            uuid NOT NULL REFERENCES veterinarians (id),
    scheduled         tstzrange NOT NULL CHECK (NOT isempty(scheduled)),
    status            visit_status NOT NULL DEFAULT 'scheduled',
    calendar_event_id text UNIQUE,
    sheet_row         text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    -- A vet is never booked twice for overlapping times.
    CONSTRAINT visits_vet_not_double_booked EXCLUDE USING gist (
        vet_id WITH =, scheduled WITH &&
    ) WHERE (status <> 'cancelled' AND deleted_at IS NULL)
);

CREATE TABLE visit_reports (
    id         uuid PRIMARY KEY,
    visit_id   uuid NOT NULL UNIQUE REFERENCES visits (id),
    body       text NOT NULL CHECK (length(body) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- AFIP receipts: never deleted; numbering unique per (point of sale, receipt type).
CREATE TABLE invoices (
    id             uuid PRIMARY KEY,
    visit_id       uuid NOT NULL REFERENCES visits (id),
    point_of_sale  integer NOT NULL CHECK (point_of_sale BETWEEN 1 AND 99999),
    receipt_type   smallint NOT NULL,
    number         bigint CHECK (number > 0),
    doc_type       smallint NOT NULL REFERENCES document_types (id),
    doc_number     text NOT NULL,
    total          numeric(12, 2) NOT NULL CHECK (total > 0),
    cae            char(14),
    cae_due        date,
    qr_url         text,
    pdf_key        text,
    issued_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_number_once UNIQUE (point_of_sale, receipt_type, number),
    CHECK ((cae IS NULL) = (issued_at IS NULL)),
    CHECK (cae IS NULL OR number IS NOT NULL)
);
CREATE UNIQUE INDEX invoices_one_per_visit ON invoices (visit_id, receipt_type);
