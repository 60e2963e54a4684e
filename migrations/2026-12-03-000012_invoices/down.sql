DROP TABLE afip_points_of_sale;
DROP TABLE afip_tickets;
DROP TRIGGER invoices_never_deleted ON invoices;
DROP FUNCTION invoices_never_deleted();
DROP TABLE invoices;
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
