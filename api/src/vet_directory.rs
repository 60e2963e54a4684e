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
//! transaction (triggers; a statement that changes nothing does not move it), and the
//! database's epoch. Loaded at that number or a later one in the same epoch, the copy
//! holds every change committed before the search; otherwise the directory is loaded
//! again together with its number, in one snapshot. So a search sees every change
//! committed before it began, from any API process, and a database recreated under a
//! running API is never taken for the old one.
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
    /// The database's epoch and the directory's number when it was loaded.
    version: (Uuid, i64),
    /// Each area's box (`[west, south, east, north]`), polygon and vet (an index into
    /// `vets`), in one list: a pass over 5,000 boxes takes microseconds.
    areas: Vec<([f64; 4], Polygon, usize)>,
    /// In the search's order, as PostgreSQL sorted them (name in the database's
    /// collation, then id): a vet's index is its place in the answer.
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
        // The vets' order is the database's (its collation sorts "Álvarez" before
        // "Zapata"; bytes would not).
        found.sort_unstable();
        found.dedup();
        let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(0);
        Ok(found
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|i| snapshot.vets[i].0.clone())
            .collect())
    }

    /// The directory at the database's current version, loaded again if it moved.
    async fn fresh(&self, conn: &mut AsyncPgConnection) -> Result<Arc<Snapshot>, db::Error> {
        let version = db::vets::directory_version(conn).await?;
        // Loaded at this number or a later one, in this database: it holds every change
        // committed before this search read the number.
        let holds =
            |current: &Snapshot| current.version.0 == version.0 && current.version.1 >= version.1;
        if let Some(current) = self.current.read().await.as_ref()
            && holds(current)
        {
            return Ok(Arc::clone(current));
        }
        let _loading = self.loading.lock().await;
        // Another search may have loaded it meanwhile.
        if let Some(current) = self.current.read().await.as_ref()
            && holds(current)
        {
            return Ok(Arc::clone(current));
        }
        let (loaded, rows) = db::vets::directory(conn).await?;
        let snapshot = Arc::new(Snapshot::from_rows(loaded, rows));
        *self.current.write().await = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}

impl Snapshot {
    fn from_rows(version: (Uuid, i64), rows: Vec<db::vets::DirectoryRow>) -> Self {
        let mut vets: Vec<(VetRow, Vec<Uuid>)> = Vec::new();
        let mut index: HashMap<Uuid, usize> = HashMap::new();
        let mut areas = Vec::with_capacity(rows.len());
        for row in rows {
            // PostGIS wrote it from a polygon it holds; one it could not read (none
            // should be) would be left out of the search, so it is said.
            let Some(polygon) = Polygon::from_wkb(&row.area) else {
                tracing::error!(vet = %row.vet.id, "a coverage area the search cannot read");
                continue;
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
