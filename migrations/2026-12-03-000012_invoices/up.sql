-- AFIP receipts: a paid visit's invoice and, when it is refunded, its credit note; the
-- shared WSAA ticket; the taxpayer's points of sale as AFIP lists them.

-- The placeholder table was never written.
DROP TABLE invoices;

CREATE TABLE invoices (
    id                  uuid PRIMARY KEY,
    request_id          uuid NOT NULL REFERENCES service_requests (id),
    visit_id            uuid NOT NULL REFERENCES visits (id),
    -- A credit note's invoice (CbtesAsoc); NULL for an invoice.
    cancels             uuid REFERENCES invoices (id),
    issuer_cuit         bigint NOT NULL CHECK (issuer_cuit BETWEEN 20000000000 AND 34999999999),
    point_of_sale       integer NOT NULL CHECK (point_of_sale BETWEEN 1 AND 99998),
    receipt_type        smallint NOT NULL CHECK (receipt_type IN (1, 3, 6, 8, 11, 13)),
    -- Set before the receipt is sent and kept while its outcome is unknown; cleared when
    -- AFIP rejected it (the number is free again).
    number              bigint CHECK (number > 0),
    receipt_date        date,
    service_date        date NOT NULL,
    -- The buyer as the owner's record said when the invoice was asked for.
    buyer_name          text NOT NULL,
    doc_type            smallint NOT NULL REFERENCES document_types (id),
    doc_number          bigint NOT NULL CHECK (doc_number >= 0),
    buyer_vat_condition smallint NOT NULL REFERENCES vat_conditions (id),
    description         text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    net                 numeric(12, 2) NOT NULL CHECK (net > 0),
    vat                 numeric(12, 2) NOT NULL CHECK (vat >= 0),
    total               numeric(12, 2) NOT NULL CHECK (total = net + vat),
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'authorized', 'rejected')),
    cae                 char(14),
    cae_due             date,
    authorized_at       timestamptz,
    -- AFIP's coded messages of the last answer (observations, errors), and the issuer's.
    afip_messages       jsonb NOT NULL DEFAULT '[]',
    attempts            integer NOT NULL DEFAULT 0,
    pdf_key             text,
    emailed_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT invoices_number_once UNIQUE (issuer_cuit, point_of_sale, receipt_type, number),
    CONSTRAINT invoices_authorized_whole CHECK (
        (state = 'authorized') = (cae IS NOT NULL)
        AND (state <> 'authorized'
             OR (number IS NOT NULL AND receipt_date IS NOT NULL AND cae_due IS NOT NULL
                 AND authorized_at IS NOT NULL))),
    CONSTRAINT invoices_rejected_unnumbered CHECK (state <> 'rejected' OR number IS NULL)
);

-- One invoice per request, one credit note per invoice.
CREATE UNIQUE INDEX invoices_one_per_request ON invoices (request_id) WHERE cancels IS NULL;
CREATE UNIQUE INDEX invoices_one_note_per_invoice ON invoices (cancels) WHERE cancels IS NOT NULL;
-- What each issuer has to do, oldest first.
CREATE INDEX invoices_pending ON invoices (issuer_cuit, point_of_sale, receipt_type, created_at)
    WHERE state = 'pending';

-- Receipts are fiscal records: never deleted.
CREATE FUNCTION invoices_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invoices are never deleted (invoice %)', OLD.id;
END $$;
CREATE TRIGGER invoices_never_deleted BEFORE DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_never_deleted();

-- WSAA's ticket, shared by every worker: one per (CUIT, service, environment).
CREATE TABLE afip_tickets (
    cuit         bigint NOT NULL,
    service      text NOT NULL,
    environment  text NOT NULL,
    token        text NOT NULL,
    sign         text NOT NULL,
    generated_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cuit, service, environment)
);

-- The taxpayer's web-service points of sale (FEParamGetPtosVenta), synced daily.
CREATE TABLE afip_points_of_sale (
    cuit      bigint NOT NULL,
    number    integer NOT NULL,
    emission  text NOT NULL,
    blocked   boolean NOT NULL,
    closed_on date,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cuit, number)
);
