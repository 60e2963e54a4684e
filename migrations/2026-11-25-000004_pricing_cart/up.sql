-- Pricing and cart, as checkout uses them.

-- An owner may ask for a vet they know; that vet's own price then applies, and dispatch
-- offers the visit to them first.
ALTER TABLE cart_items ADD COLUMN vet_id uuid REFERENCES veterinarians (id);
ALTER TABLE service_requests ADD COLUMN requested_vet_id uuid REFERENCES veterinarians (id);

-- Where a checked-out item went: replaying a checkout finds its requests.
ALTER TABLE service_requests ADD COLUMN checkout_key text;

-- The price valid on a date, for a service and a vet or the general one.
CREATE INDEX prices_lookup_idx ON prices (service_id, vet_id, valid_from);
CREATE INDEX cart_items_cart_idx ON cart_items (cart_id) WHERE deleted_at IS NULL;
