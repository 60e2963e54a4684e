DROP TABLE vet_offers;
DROP TABLE state_history;
DROP TABLE service_requests;
DROP TYPE vet_answer;
DROP TYPE request_state;
