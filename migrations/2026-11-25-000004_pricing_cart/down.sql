DROP INDEX cart_items_cart_idx;
DROP INDEX prices_lookup_idx;
ALTER TABLE service_requests DROP COLUMN checkout_key;
ALTER TABLE service_requests DROP COLUMN requested_vet_id;
ALTER TABLE cart_items DROP COLUMN vet_id;
