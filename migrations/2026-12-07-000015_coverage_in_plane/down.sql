CREATE INDEX vet_coverage_areas_area_idx ON vet_coverage_areas USING gist (area);
DROP INDEX vet_coverage_areas_plane_idx;
ALTER TABLE vet_coverage_areas DROP COLUMN area_plane;
