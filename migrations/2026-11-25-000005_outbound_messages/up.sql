-- Every message sent to a person (WhatsApp now, email later), keyed by what it is for
-- (an offer and its attempt, say): a retried send finds it already sent.
CREATE TABLE outbound_messages (
    key          text PRIMARY KEY,
    channel      text NOT NULL DEFAULT 'whatsapp',
    recipient    text NOT NULL,
    template     text NOT NULL,
    params       jsonb NOT NULL,
    provider_id  text,
    sent_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_messages_recipient_idx ON outbound_messages (recipient, sent_at);
