-- The visit's outcome: the vet's report (correctable by its author until staff lock it),
-- its files, or a no-show (the owner was not there), which is an end state of its own.
ALTER TYPE request_state ADD VALUE IF NOT EXISTS 'no_show';
ALTER TYPE visit_status ADD VALUE IF NOT EXISTS 'no_show';

-- The placeholder table was never written.
DROP TABLE visit_reports;

CREATE TABLE visit_reports (
    id              uuid PRIMARY KEY,
    visit_id        uuid NOT NULL UNIQUE REFERENCES visits (id),
    -- The vet's or staff's login that filed it; only they correct it.
    author_user_id  uuid NOT NULL REFERENCES users (id),
    findings        text NOT NULL CHECK (length(findings) BETWEEN 1 AND 5000),
    diagnosis       text NOT NULL CHECK (length(diagnosis) BETWEEN 1 AND 5000),
    treatment       text CHECK (length(treatment) BETWEEN 1 AND 5000),
    recommendations text CHECK (length(recommendations) BETWEEN 1 AND 5000),
    weight_kg       numeric(6, 2) CHECK (weight_kg > 0),
    next_checkup_on date,
    -- 1 when filed, one more with each correction.
    revision        integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    filed_at        timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    locked_at       timestamptz,
    locked_by       uuid REFERENCES users (id),
    CONSTRAINT visit_reports_lock_whole CHECK ((locked_at IS NULL) = (locked_by IS NULL))
);

CREATE TABLE visit_report_files (
    id           uuid PRIMARY KEY,
    report_id    uuid NOT NULL REFERENCES visit_reports (id),
    storage_key  text NOT NULL UNIQUE,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE INDEX visit_report_files_report_idx ON visit_report_files (report_id) WHERE deleted_at IS NULL;
