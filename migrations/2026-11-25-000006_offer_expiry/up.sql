-- An offer is open until it is answered or expires; dispatch ranks vets by their open
-- offers.
ALTER TABLE vet_offers ADD COLUMN expires_at timestamptz;
CREATE INDEX vet_offers_open_idx ON vet_offers (vet_id, expires_at) WHERE answer IS NULL;
CREATE INDEX visits_vet_day_idx ON visits (vet_id, lower(scheduled)) WHERE deleted_at IS NULL;
