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

    /// A 2D polygon from (ISO/OGC) WKB, as PostGIS's `ST_AsBinary` writes it: the
    /// coordinates exactly as stored. `None` for anything else (another geometry type,
    /// a Z or M dimension, a short or overlong buffer). No size limit: what is stored
    /// was checked when it came in.
    pub fn from_wkb(wkb: &[u8]) -> Option<Self> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Option<&[u8]> {
            let bytes = wkb.get(at..at.checked_add(n)?)?;
            at += n;
            Some(bytes)
        };
        let little = match take(1)?[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let read_u32 = |bytes: &[u8]| -> Option<u32> {
            let b: [u8; 4] = bytes.try_into().ok()?;
            Some(if little {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            })
        };
        let read_f64 = |bytes: &[u8]| -> Option<f64> {
            let b: [u8; 8] = bytes.try_into().ok()?;
            Some(if little {
                f64::from_le_bytes(b)
            } else {
                f64::from_be_bytes(b)
            })
        };
        if read_u32(take(4)?)? != 3 {
            return None; // not a 2D polygon
        }
        let rings = read_u32(take(4)?)? as usize;
        let mut parsed = Vec::with_capacity(rings.min(MAX_RINGS));
        for _ in 0..rings {
            let points = read_u32(take(4)?)? as usize;
            let mut ring = Vec::with_capacity(points.min(MAX_POSITIONS));
            for _ in 0..points {
                let x = read_f64(take(8)?)?;
                let y = read_f64(take(8)?)?;
                ring.push([x, y]);
            }
            parsed.push(ring);
        }
        (at == wkb.len()).then_some(Self { rings: parsed })
    }

    /// Whether the polygon holds `[lon, lat]`, its border included (a hole's border too):
    /// PostGIS's `ST_Covers` on `geometry`, in plane coordinates, as the search in
    /// PostgreSQL decides it. A point on an edge is on it when the edge's side test is
    /// exactly zero (as PostGIS's `lw_segment_side`), which holds exactly for the points
    /// of an edge along a meridian or a parallel and for every vertex.
    pub fn covers(&self, point: [f64; 2]) -> bool {
        let Some((outer, holes)) = self.rings.split_first() else {
            return false;
        };
        match ring_position(outer, point) {
            Position::Outside => false,
            Position::Border => true,
            Position::Inside => holes
                .iter()
                .all(|hole| ring_position(hole, point) != Position::Inside),
        }
    }

    /// `[west, south, east, north]` of the outer ring.
    pub fn bounds(&self) -> [f64; 4] {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for [x, y] in self.rings.first().into_iter().flatten() {
            b = [b[0].min(*x), b[1].min(*y), b[2].max(*x), b[3].max(*y)];
        }
        b
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    Inside,
    Border,
    Outside,
}

/// Where `q` is against a closed ring: the winding number, with a point on an edge
/// (side exactly zero, within the edge's box) on the border.
fn ring_position(ring: &[[f64; 2]], q: [f64; 2]) -> Position {
    let mut winding = 0i32;
    for edge in ring.windows(2) {
        let (a, b) = (edge[0], edge[1]);
        // PostGIS's lw_segment_side(a, b, q): < 0 left, > 0 right, 0 on the line.
        let side = (q[0] - a[0]) * (b[1] - a[1]) - (b[0] - a[0]) * (q[1] - a[1]);
        if side == 0.0
            && q[0] >= a[0].min(b[0])
            && q[0] <= a[0].max(b[0])
            && q[1] >= a[1].min(b[1])
            && q[1] <= a[1].max(b[1])
        {
            return Position::Border;
        }
        if a[1] <= q[1] && b[1] > q[1] && side < 0.0 {
            winding += 1; // an upward edge with q on its left
        } else if a[1] > q[1] && b[1] <= q[1] && side > 0.0 {
            winding -= 1; // a downward edge with q on its right
        }
    }
    if winding == 0 {
        Position::Outside
    } else {
        Position::Inside
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

    fn rect(west: f64, south: f64, east: f64, north: f64) -> Vec<[f64; 2]> {
        vec![
            [west, south],
            [east, south],
            [east, north],
            [west, north],
            [west, south],
        ]
    }

    #[test]
    fn covers_holds_the_inside_and_the_border_and_not_the_hole() {
        let square = Polygon {
            rings: vec![
                rect(-58.50, -34.70, -58.40, -34.60),
                rect(-58.47, -34.67, -58.43, -34.63),
            ],
        };
        let cases = [
            ([-58.49, -34.61], true, "inside"),
            ([-58.45, -34.65], false, "inside the hole"),
            ([-58.47, -34.65], true, "on the hole's border"),
            ([-58.40, -34.60], true, "on a corner"),
            ([-58.40, -34.65], true, "on an edge along a meridian"),
            ([-58.45, -34.60], true, "on an edge along a parallel"),
            ([-58.45, -34.5999999], false, "just north of it"),
            ([-58.3999999, -34.65], false, "just east of it"),
            ([-58.35, -34.65], false, "east of it"),
            ([-58.45, -34.55], false, "north of it"),
        ];
        for (point, expected, what) in cases {
            assert_eq!(square.covers(point), expected, "{what}: {point:?}");
        }
        // The same ring the other way round: the winding's sign does not matter.
        let mut clockwise = rect(-58.50, -34.70, -58.40, -34.60);
        clockwise.reverse();
        let clockwise = Polygon {
            rings: vec![clockwise],
        };
        assert!(clockwise.covers([-58.49, -34.61]));
        assert!(!clockwise.covers([-58.35, -34.65]));
        assert_eq!(square.bounds(), [-58.50, -34.70, -58.40, -34.60]);
    }

    /// A polygon's WKB as PostGIS writes it (`ST_AsBinary`), in either byte order.
    fn wkb(rings: &[Vec<[f64; 2]>], little: bool) -> Vec<u8> {
        let u32_ = |n: u32| {
            if little {
                n.to_le_bytes()
            } else {
                n.to_be_bytes()
            }
        };
        let f64_ = |x: f64| {
            if little {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            }
        };
        let mut out = vec![u8::from(little)];
        out.extend(u32_(3));
        out.extend(u32_(rings.len() as u32));
        for ring in rings {
            out.extend(u32_(ring.len() as u32));
            for [x, y] in ring {
                out.extend(f64_(*x));
                out.extend(f64_(*y));
            }
        }
        out
    }

    #[test]
    fn wkb_gives_the_stored_coordinates_exactly() {
        // Seventeen significant digits, which a GeoJSON of 9 decimals would round.
        let rings = vec![
            vec![
                [-58.123_456_789_012_34, -34.6],
                [-58.1, -34.600_000_000_000_01],
                [-58.1, -34.5],
                [-58.123_456_789_012_34, -34.6],
            ],
            rect(-58.11, -34.58, -58.105, -34.55),
        ];
        for little in [true, false] {
            let polygon = Polygon::from_wkb(&wkb(&rings, little)).expect("a polygon");
            assert_eq!(polygon.rings, rings);
        }
        let bytes = wkb(&rings, true);
        assert_eq!(
            Polygon::from_wkb(&bytes[..bytes.len() - 1]),
            None,
            "cut short"
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Polygon::from_wkb(&longer), None, "trailing bytes");
        let mut point = bytes.clone();
        point[1] = 1; // a Point's type code
        assert_eq!(Polygon::from_wkb(&point), None, "not a polygon");
        assert_eq!(Polygon::from_wkb(&[]), None);
        // A ring count no buffer could hold is refused, not allocated.
        let mut huge = vec![1u8];
        huge.extend(3u32.to_le_bytes());
        huge.extend(u32::MAX.to_le_bytes());
        assert_eq!(Polygon::from_wkb(&huge), None);
    }

    #[test]
    fn covers_a_concave_polygon_only_where_it_is() {
        // An L: the square (0,0)-(2,2) without its north-east quarter.
        let l = Polygon {
            rings: vec![vec![
                [0.0, 0.0],
                [2.0, 0.0],
                [2.0, 1.0],
                [1.0, 1.0],
                [1.0, 2.0],
                [0.0, 2.0],
                [0.0, 0.0],
            ]],
        };
        assert!(l.covers([0.5, 1.5]));
        assert!(l.covers([1.5, 0.5]));
        assert!(!l.covers([1.5, 1.5]), "the missing quarter");
        assert!(l.covers([1.0, 1.5]), "the inner corner's edge");
        assert!(l.covers([1.0, 1.0]), "the inner corner");
        assert!(l.covers([0.5, 0.5]));
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
