DROP TRIGGER vet_directory_specialties ON vet_specialties;
DROP TRIGGER vet_directory_areas ON vet_coverage_areas;
DROP TRIGGER vet_directory_vets ON veterinarians;
DROP FUNCTION vet_directory_changed();
DROP TABLE vet_directory_version;
