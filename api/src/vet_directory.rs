//! Vet search from memory: every live coverage area of every active vet, with the vet
//! and their specialties, kept by the API process and searched without PostgreSQL.
//!
//! PostgreSQL spent about 1.5 ms of CPU on each search over 5,000 vets (`make bench`:
//! some 300 areas around each point, each a heap fetch, a point-in-polygon test and a
//! lookup of its vet and specialty); in memory a search is a pass over the areas' boxes
//! and a test of the few whose box holds the point.
//!
//! Never stale: before each search the API reads `vet_directory_version`, a number every
//! change to the vets, their areas or their specialties moves in the changing
//! transaction (a trigger). The same number, the same directory; another, and the
//! directory is loaded again together with its number, in one snapshot. So a search
//! sees every change committed before it began, from any API process.
//!
//! The inside test is [`domain::geo::Polygon::covers`]: PostGIS's `ST_Covers` in plane
//! coordinates, as the SQL search (`db::vets::vets_covering`, used when a time window
//! is asked for, and by the dispatcher) decides it; a test checks both agree.

use std::{collections::HashMap, sync::Arc};

use db::vets::VetRow;
use diesel_async::AsyncPgConnection;
use domain::{LatLon, geo::Polygon};
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

/// The directory as loaded at one version.
struct Snapshot {
    version: i64,
    /// Each area's box (`[west, south, east, north]`), polygon and vet (an index into
    /// `vets`), in one list: a pass over 5,000 boxes takes microseconds.
    areas: Vec<([f64; 4], Polygon, usize)>,
    vets: Vec<(VetRow, Vec<Uuid>)>,
}

/// The API's copy of the vet directory (one per process, shared by every request).
#[derive(Default)]
pub struct VetDirectory {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// One load at a time: searches that find the directory stale together wait for
    /// the one load.
    loading: Mutex<()>,
}

impl VetDirectory {
    /// The active vets with a live coverage area that covers `point` (the border
    /// counts) and, if asked, the specialty: in name order (then id), one page.
    pub async fn search(
        &self,
        conn: &mut AsyncPgConnection,
        point: LatLon,
        specialty: Option<Uuid>,
        page: db::Page,
    ) -> Result<Vec<VetRow>, db::Error> {
        let snapshot = self.fresh(conn).await?;
        let at = [point.lon, point.lat];
        let mut found: Vec<usize> = snapshot
            .areas
            .iter()
            .filter(|(b, ..)| at[0] >= b[0] && at[0] <= b[2] && at[1] >= b[1] && at[1] <= b[3])
            .filter(|(_, polygon, _)| polygon.covers(at))
            .map(|(.., vet)| *vet)
            .filter(|vet| specialty.is_none_or(|s| snapshot.vets[*vet].1.contains(&s)))
            .collect();
        found.sort_unstable();
        found.dedup();
        let mut rows: Vec<&VetRow> = found.iter().map(|i| &snapshot.vets[*i].0).collect();
        rows.sort_by(|a, b| (&a.full_name, a.id).cmp(&(&b.full_name, b.id)));
        let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(0);
        Ok(rows.into_iter().skip(skip).take(take).cloned().collect())
    }

    /// The directory at the database's current version, loaded again if it moved.
    async fn fresh(&self, conn: &mut AsyncPgConnection) -> Result<Arc<Snapshot>, db::Error> {
        // Any other number than the one loaded means a change (or a database restored
        // to an older one): only the same number is the same directory.
        let version = db::vets::directory_version(conn).await?;
        if let Some(current) = self.current.read().await.as_ref()
            && current.version == version
        {
            return Ok(Arc::clone(current));
        }
        let _loading = self.loading.lock().await;
        // Another search may have loaded it meanwhile.
        if let Some(current) = self.current.read().await.as_ref()
            && current.version == version
        {
            return Ok(Arc::clone(current));
        }
        let (version, rows) = db::vets::directory(conn).await?;
        let snapshot = Arc::new(Snapshot::from_rows(version, rows));
        *self.current.write().await = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}

impl Snapshot {
    fn from_rows(version: i64, rows: Vec<db::vets::DirectoryRow>) -> Self {
        let mut vets: Vec<(VetRow, Vec<Uuid>)> = Vec::new();
        let mut index: HashMap<Uuid, usize> = HashMap::new();
        let mut areas = Vec::with_capacity(rows.len());
        for row in rows {
            // PostGIS wrote it from a polygon it holds; one it could not parse (none
            // should be) would be left out of the search, so it is said.
            let polygon = serde_json::from_str(&row.area)
                .map_err(|e| e.to_string())
                .and_then(|value| Polygon::from_geojson(&value).map_err(|e| e.to_string()));
            let polygon = match polygon {
                Ok(polygon) => polygon,
                Err(e) => {
                    tracing::error!(vet = %row.vet.id, error = %e, "a coverage area the search cannot read");
                    continue;
                }
            };
            let vet = *index.entry(row.vet.id).or_insert_with(|| {
                vets.push((row.vet.clone(), row.specialties.clone()));
                vets.len() - 1
            });
            areas.push((polygon.bounds(), polygon, vet));
        }
        Self {
            version,
            areas,
            vets,
        }
    }
}
