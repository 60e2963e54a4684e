DROP TABLE phone_code_sends;
DROP TABLE phone_codes;
ALTER TABLE pet_owners DROP COLUMN phone_verified_at;
