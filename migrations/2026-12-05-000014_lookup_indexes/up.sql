-- Lookups by the row a table hangs from, which had no index of their own and so read
-- the whole table each time. `make bench` over 50,000 owners found the first: a quote
-- reads the owner's addresses, a sequential scan of 50,000 rows taking 10 ms
-- (docs/performance/explain.txt). The others grow the same way with use:
--   * planning a dispatch counts each candidate vet's offers of the last hour, a scan
--     of every offer ever made, once per candidate;
--   * a request's status reads its payment links;
--   * an owner's pets, a vet's coverage areas, a pet's vaccines and studies, a study's
--     files, a user's password tokens.
CREATE INDEX owner_addresses_owner_idx
    ON owner_addresses (owner_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX pets_owner_idx ON pets (owner_id) WHERE deleted_at IS NULL;
CREATE INDEX vet_offers_vet_offered_idx ON vet_offers (vet_id, offered_at);
CREATE INDEX mp_preferences_request_idx ON mp_preferences (request_id, created_at);
CREATE INDEX vet_coverage_areas_vet_idx ON vet_coverage_areas (vet_id) WHERE deleted_at IS NULL;
CREATE INDEX vaccine_applications_pet_idx ON vaccine_applications (pet_id);
CREATE INDEX studies_pet_idx ON studies (pet_id);
CREATE INDEX study_files_study_idx ON study_files (study_id);
CREATE INDEX password_tokens_user_idx ON password_tokens (user_id);
