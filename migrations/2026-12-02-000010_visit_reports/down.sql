-- PostgreSQL cannot drop an enum value: `no_show` stays in request_state and visit_status.
DROP TABLE visit_report_files;
DROP TABLE visit_reports;
CREATE TABLE visit_reports (
    id         uuid PRIMARY KEY,
    visit_id   uuid NOT NULL UNIQUE REFERENCES visits (id),
    body       text NOT NULL CHECK (length(body) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
