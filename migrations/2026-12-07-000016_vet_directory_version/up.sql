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

-- A trigger with a transition table has one event, hence four per table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['veterinarians', 'vet_coverage_areas', 'vet_specialties'] LOOP
        EXECUTE format('CREATE TRIGGER vet_directory_insert AFTER INSERT ON %I '
            'REFERENCING NEW TABLE AS changed FOR EACH STATEMENT '
            'EXECUTE FUNCTION vet_directory_changed()', t);
        EXECUTE format('CREATE TRIGGER vet_directory_update AFTER UPDATE ON %I '
            'REFERENCING NEW TABLE AS changed FOR EACH STATEMENT '
            'EXECUTE FUNCTION vet_directory_changed()', t);
        EXECUTE format('CREATE TRIGGER vet_directory_delete AFTER DELETE ON %I '
            'REFERENCING OLD TABLE AS changed FOR EACH STATEMENT '
            'EXECUTE FUNCTION vet_directory_changed()', t);
        EXECUTE format('CREATE TRIGGER vet_directory_truncate AFTER TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION vet_directory_truncated()', t);
    END LOOP;
END
$$;
