//! GeoJSON polygons as the API receives them (coverage areas, neighborhoods), checked
//! before PostGIS sees them: shape, closed rings, coordinate ranges. Geometric validity
//! (self-intersections) is PostGIS's `ST_IsValid`, which names the reason.

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolygonError {
    #[error("must be a GeoJSON object with \"type\": \"Polygon\"")]
    NotAPolygon,
    #[error("coordinates must be an array of linear rings")]
    Shape,
    #[error("ring {ring} must have at least 4 positions (a closed triangle)")]
    TooFewPositions { ring: usize },
    #[error("ring {ring} is not closed: its first and last positions differ")]
    NotClosed { ring: usize },
    #[error(
        "ring {ring}, position {position}: longitude must be in [-180, 180] and latitude in [-90, 90]"
    )]
    OutOfRange { ring: usize, position: usize },
    #[error("a \"crs\" member is not allowed: coordinates are WGS 84 (SRID 4326)")]
    ForeignCrs,
    #[error("at most {MAX_RINGS} rings and {MAX_POSITIONS} positions in all")]
    TooLarge,
}

/// The most rings (an outer one and its holes) a polygon may have.
pub const MAX_RINGS: usize = 50;
/// The most positions a polygon may have over all its rings: a neighbourhood drawn by
/// hand has dozens; this bounds what one request makes PostGIS check.
pub const MAX_POSITIONS: usize = 10_000;

/// A polygon in WGS 84 (SRID 4326): an outer ring and optional holes, each closed.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub rings: Vec<Vec<[f64; 2]>>,
}

impl Polygon {
    pub fn from_geojson(value: &Value) -> Result<Self, PolygonError> {
        let object = value.as_object().ok_or(PolygonError::NotAPolygon)?;
        if object.get("type").and_then(Value::as_str) != Some("Polygon") {
            return Err(PolygonError::NotAPolygon);
        }
        if object.contains_key("crs") {
            return Err(PolygonError::ForeignCrs);
        }
        let rings = object
            .get("coordinates")
            .and_then(Value::as_array)
            .filter(|r| !r.is_empty())
            .ok_or(PolygonError::Shape)?;
        let positions: usize = rings.iter().map(|r| r.as_array().map_or(0, Vec::len)).sum();
        if rings.len() > MAX_RINGS || positions > MAX_POSITIONS {
            return Err(PolygonError::TooLarge);
        }
        let mut parsed = Vec::with_capacity(rings.len());
        for (ring_no, ring) in rings.iter().enumerate() {
            let positions = ring.as_array().ok_or(PolygonError::Shape)?;
            let mut points = Vec::with_capacity(positions.len());
            for (position, p) in positions.iter().enumerate() {
                let pair = p
                    .as_array()
                    .filter(|a| a.len() >= 2)
                    .ok_or(PolygonError::Shape)?;
                let (Some(lon), Some(lat)) = (pair[0].as_f64(), pair[1].as_f64()) else {
                    return Err(PolygonError::Shape);
                };
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(PolygonError::OutOfRange {
                        ring: ring_no,
                        position,
                    });
                }
                points.push([lon, lat]);
            }
            if points.len() < 4 {
                return Err(PolygonError::TooFewPositions { ring: ring_no });
            }
            if points.first() != points.last() {
                return Err(PolygonError::NotClosed { ring: ring_no });
            }
            parsed.push(points);
        }
        Ok(Self { rings: parsed })
    }

    /// Back to GeoJSON, as PostGIS's `ST_GeomFromGeoJSON` takes it.
    pub fn to_geojson(&self) -> Value {
        serde_json::json!({ "type": "Polygon", "coordinates": self.rings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_closed_polygon_with_a_hole_parses() {
        let value = json!({ "type": "Polygon", "coordinates": [
            [[-58.5, -34.7], [-58.3, -34.7], [-58.3, -34.5], [-58.5, -34.5], [-58.5, -34.7]],
            [[-58.45, -34.65], [-58.35, -34.65], [-58.35, -34.55], [-58.45, -34.65]]
        ]});
        let polygon = Polygon::from_geojson(&value).unwrap();
        assert_eq!(polygon.rings.len(), 2);
        assert_eq!(polygon.to_geojson(), value);
    }

    #[test]
    fn a_polygon_too_large_to_check_is_refused_before_anything_else() {
        let ring: Vec<[f64; 2]> = (0..=MAX_POSITIONS).map(|i| [i as f64 / 1e5, 0.0]).collect();
        let value = json!({ "type": "Polygon", "coordinates": [ring] });
        assert_eq!(Polygon::from_geojson(&value), Err(PolygonError::TooLarge));
        let small = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]];
        let rings: Vec<_> = (0..=MAX_RINGS).map(|_| small).collect();
        let value = json!({ "type": "Polygon", "coordinates": rings });
        assert_eq!(Polygon::from_geojson(&value), Err(PolygonError::TooLarge));
    }

    #[test]
    fn malformed_polygons_say_why() {
        let square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        let cases = [
            (
                json!({ "type": "Point", "coordinates": [0, 0] }),
                PolygonError::NotAPolygon,
            ),
            (json!([1, 2]), PolygonError::NotAPolygon),
            (
                json!({ "type": "Polygon", "coordinates": [] }),
                PolygonError::Shape,
            ),
            (
                json!({ "type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]] }),
                PolygonError::TooFewPositions { ring: 0 },
            ),
            (
                json!({ "type": "Polygon", "coordinates": [square] }),
                PolygonError::NotClosed { ring: 0 },
            ),
            (
                json!({ "type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]] }),
                PolygonError::OutOfRange {
                    ring: 0,
                    position: 1,
                },
            ),
            (
                json!({ "type": "Polygon", "crs": {}, "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]] }),
                PolygonError::ForeignCrs,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(Polygon::from_geojson(&value), Err(expected), "{value}");
        }
    }
}
