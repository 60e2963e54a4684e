CREATE INDEX service_requests_state_idx ON service_requests (state);
CREATE INDEX service_requests_owner_idx ON service_requests (owner_id);
DROP INDEX service_requests_newest_idx;
DROP INDEX service_requests_owner_newest_idx;
DROP INDEX service_requests_state_newest_idx;
