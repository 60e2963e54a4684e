DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['veterinarians', 'vet_coverage_areas', 'vet_specialties'] LOOP
        EXECUTE format('DROP TRIGGER vet_directory_insert ON %I', t);
        EXECUTE format('DROP TRIGGER vet_directory_update ON %I', t);
        EXECUTE format('DROP TRIGGER vet_directory_delete ON %I', t);
        EXECUTE format('DROP TRIGGER vet_directory_truncate ON %I', t);
    END LOOP;
END
$$;
DROP FUNCTION vet_directory_truncated();
DROP FUNCTION vet_directory_changed();
DROP TABLE vet_directory_version;
