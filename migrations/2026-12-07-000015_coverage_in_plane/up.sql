-- Whether a point is in a vet's coverage area is decided in plane coordinates (longitude
-- and latitude as x and y), as the area was drawn on the map and validated
-- (`ST_IsValid` on the geometry), not on the sphere. Two reasons:
--   * the spherical test was a third of PostgreSQL's time in a vet search (`perf` during
--     `make bench`, 5,000 vets, about 300 areas around each point: sin/cos in PostGIS'
--     geography code); the planar one with an index of its own takes half the time per
--     search (pgbench, same data: 670 searches/s on both cores before, 1,324 after);
--   * an edge along a parallel is the line on the map: on the sphere the edge between
--     two corners at -34.60 runs about a metre south of it, so a point on that line
--     was outside (a test shows it inside now).
-- `area` stays the record (GeoJSON in and out); `area_plane` follows it.
ALTER TABLE vet_coverage_areas
    ADD COLUMN area_plane geometry(Polygon, 4326) NOT NULL
    GENERATED ALWAYS AS (area::geometry) STORED;
CREATE INDEX vet_coverage_areas_plane_idx
    ON vet_coverage_areas USING gist (area_plane) WHERE deleted_at IS NULL;
-- Nothing reads the spherical index any more.
DROP INDEX vet_coverage_areas_area_idx;
