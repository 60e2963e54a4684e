-- The vet directory's version: one row, moved on by every change to what a vet search
-- reads (the vets, their coverage areas, their specialties), in the changing
-- transaction. The API keeps the searchable directory in memory and reads this number
-- before each search: the same number, the same directory; another, and it loads the
-- directory again (with the number, in one snapshot). A statement-level trigger, so a
-- change of many rows moves it once.
CREATE TABLE vet_directory_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  bigint NOT NULL
);
INSERT INTO vet_directory_version (version) VALUES (1);

CREATE FUNCTION vet_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE vet_directory_version SET version = version + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER vet_directory_vets AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON veterinarians FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_areas AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON vet_coverage_areas FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_specialties AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON vet_specialties FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
