-- The vet directory's version: one row, moved on by every change to what a vet search
-- reads (the vets, their coverage areas, their specialties), in the changing
-- transaction. The API keeps the searchable directory in memory and reads this row
-- before each search: the same epoch and a number no newer than the one it loaded, the
-- same directory; otherwise it loads the directory again (with the row, in one
-- snapshot). The epoch is new in every database, so a database recreated or restored
-- under a running API is never taken for the one it loaded.
--
-- Statement-level triggers with transition tables: a statement that changes many rows
-- moves the number once, and one that changes none (a delete of nothing, the same
-- specialties set again) does not move it, so nobody can make every search reload.
CREATE TABLE vet_directory_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    epoch    uuid NOT NULL DEFAULT gen_random_uuid(),
    version  bigint NOT NULL
);
INSERT INTO vet_directory_version (version) VALUES (1);

CREATE FUNCTION vet_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        UPDATE vet_directory_version SET version = version + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION vet_directory_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE vet_directory_version SET version = version + 1;
    RETURN NULL;
END
$$;

-- A trigger with a transition table has one event, hence three per table.
CREATE TRIGGER vet_directory_vets_insert AFTER INSERT ON veterinarians
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_vets_update AFTER UPDATE ON veterinarians
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_vets_delete AFTER DELETE ON veterinarians
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_vets_truncate AFTER TRUNCATE ON veterinarians
    FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_truncated();

CREATE TRIGGER vet_directory_areas_insert AFTER INSERT ON vet_coverage_areas
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_areas_update AFTER UPDATE ON vet_coverage_areas
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_areas_delete AFTER DELETE ON vet_coverage_areas
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_areas_truncate AFTER TRUNCATE ON vet_coverage_areas
    FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_truncated();

CREATE TRIGGER vet_directory_specialties_insert AFTER INSERT ON vet_specialties
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_specialties_update AFTER UPDATE ON vet_specialties
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_specialties_delete AFTER DELETE ON vet_specialties
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_changed();
CREATE TRIGGER vet_directory_specialties_truncate AFTER TRUNCATE ON vet_specialties
    FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_truncated();
