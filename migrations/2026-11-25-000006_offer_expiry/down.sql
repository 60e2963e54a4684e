DROP INDEX visits_vet_day_idx;
DROP INDEX vet_offers_open_idx;
ALTER TABLE vet_offers DROP COLUMN expires_at;
