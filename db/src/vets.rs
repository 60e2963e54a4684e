//! Veterinarians and their coverage areas (PostGIS polygons), and the search for the
//! vets whose coverage holds a point.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::{
    prelude::*,
    sql_types::{Bool, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{Cuit, Email, LatLon, VetId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Error,
    pricing::LOCAL_TZ,
    schema::{users, vet_availability, vet_specialties, veterinarians},
};

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName, Serialize, Deserialize)]
#[diesel(table_name = veterinarians)]
pub struct VetRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub full_name: String,
    pub license_number: String,
    pub cuit: String,
    pub phone: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// What staff give to create a vet's account and profile.
#[derive(Debug, Clone)]
pub struct NewVet {
    pub email: Email,
    pub password_hash: String,
    pub full_name: String,
    pub license_number: String,
    pub cuit: Cuit,
    pub phone: String,
}

/// Creates the vet's user and profile in one transaction.
pub async fn create_vet(conn: &mut AsyncPgConnection, new: &NewVet) -> Result<VetRow, Error> {
    let new = new.clone();
    conn.transaction::<_, Error, _>(async move |conn| {
        let user_id = Uuid::now_v7();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user_id),
                users::email.eq(new.email.as_str()),
                users::password_hash.eq(Some(&new.password_hash)),
                users::full_name.eq(&new.full_name),
            ))
            .execute(conn)
            .await?;
        Ok(diesel::insert_into(veterinarians::table)
            .values((
                veterinarians::id.eq(VetId::new().into_uuid()),
                veterinarians::user_id.eq(user_id),
                veterinarians::full_name.eq(&new.full_name),
                veterinarians::license_number.eq(&new.license_number),
                veterinarians::cuit.eq(new.cuit.as_str()),
                veterinarians::phone.eq(&new.phone),
            ))
            .returning(VetRow::as_returning())
            .get_result(conn)
            .await?)
    })
    .await
}

pub async fn vet(conn: &mut AsyncPgConnection, id: VetId) -> Result<Option<VetRow>, Error> {
    Ok(veterinarians::table
        .find(id.into_uuid())
        .filter(veterinarians::deleted_at.is_null())
        .select(VetRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct CoverageRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub vet_id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// The polygon as GeoJSON text.
    #[diesel(sql_type = Text)]
    pub area: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Validity {
    #[diesel(sql_type = Bool)]
    valid: bool,
    #[diesel(sql_type = Text)]
    reason: String,
}

/// Adding a coverage area failed.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// PostGIS's `ST_IsValidReason`, e.g. "Self-intersection[-58.4 -34.6]".
    #[error("invalid geometry: {0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] Error),
}

/// Adds a coverage area from GeoJSON (already shape-checked by `domain::geo::Polygon`),
/// refusing geometrically invalid polygons with PostGIS's reason.
pub async fn add_coverage_area(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    name: &str,
    geojson: &str,
) -> Result<CoverageRow, CoverageError> {
    let validity: Validity = diesel::sql_query(
        "SELECT ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason \
         FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g) AS candidate",
    )
    .bind::<Text, _>(geojson)
    .get_result(conn)
    .await
    .map_err(Error::from)?;
    if !validity.valid {
        return Err(CoverageError::Invalid(validity.reason));
    }
    Ok(diesel::sql_query(
        "INSERT INTO vet_coverage_areas (id, vet_id, name, area) \
         VALUES ($1, $2, $3, ST_SetSRID(ST_GeomFromGeoJSON($4), 4326)::geography) \
         RETURNING id, vet_id, name, ST_AsGeoJSON(area) AS area, created_at",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(vet.into_uuid())
    .bind::<Text, _>(name)
    .bind::<Text, _>(geojson)
    .get_result(conn)
    .await
    .map_err(Error::from)?)
}

pub async fn coverage_areas(
    conn: &mut AsyncPgConnection,
    vet: VetId,
) -> Result<Vec<CoverageRow>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, vet_id, name, ST_AsGeoJSON(area) AS area, created_at FROM vet_coverage_areas \
         WHERE vet_id = $1 AND deleted_at IS NULL ORDER BY created_at",
    )
    .bind::<SqlUuid, _>(vet.into_uuid())
    .load(conn)
    .await?)
}

pub async fn delete_coverage_area(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    id: Uuid,
) -> Result<bool, Error> {
    let n = diesel::sql_query(
        "UPDATE vet_coverage_areas SET deleted_at = now() \
         WHERE id = $1 AND vet_id = $2 AND deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(vet.into_uuid())
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Active vets with a coverage area that covers `point` (the border counts), with the
/// specialty if one is asked for, and free for the whole `window` if one is given: a
/// weekly slot (local time, America/Argentina/Buenos_Aires) holds it on its day, and no
/// time off overlaps it. Uses the GiST indexes on areas and time off.
///
/// Inside is decided in plane coordinates (`area_plane`, longitude and latitude as x
/// and y: the area as drawn on the map), which is also half the cost of the test on
/// the sphere (`migrations/2026-12-07-000015_coverage_in_plane`). In name order
/// (then id, so pages never overlap): one `page` of them, or all (`None`: the
/// dispatcher ranks every candidate).
pub async fn vets_covering(
    conn: &mut AsyncPgConnection,
    point: LatLon,
    specialty: Option<Uuid>,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    page: Option<crate::Page>,
) -> Result<Vec<VetRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT v.id, v.user_id, v.full_name, v.license_number, v.cuit, v.phone, v.active, v.created_at \
         FROM veterinarians v \
         WHERE v.deleted_at IS NULL AND v.active \
           AND EXISTS (SELECT 1 FROM vet_coverage_areas a \
                       WHERE a.vet_id = v.id AND a.deleted_at IS NULL \
                         AND ST_Covers(a.area_plane, ST_SetSRID(ST_MakePoint($1, $2), 4326))) \
           AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM vet_specialties s \
                                            WHERE s.vet_id = v.id AND s.specialty_id = $3)) \
           AND ($4::timestamptz IS NULL OR ( \
                 EXISTS (SELECT 1 FROM vet_availability av \
                         WHERE av.vet_id = v.id AND av.deleted_at IS NULL \
                           AND av.weekday = EXTRACT(ISODOW FROM $4 AT TIME ZONE '{LOCAL_TZ}') \
                           AND ($4 AT TIME ZONE '{LOCAL_TZ}')::date \
                               = (($5 - interval '1 microsecond') AT TIME ZONE '{LOCAL_TZ}')::date \
                           AND av.starts_at <= ($4 AT TIME ZONE '{LOCAL_TZ}')::time \
                           AND av.ends_at >= ($5 AT TIME ZONE '{LOCAL_TZ}')::time) \
                 AND NOT EXISTS (SELECT 1 FROM vet_time_off t \
                                 WHERE t.vet_id = v.id AND t.deleted_at IS NULL \
                                   AND t.during && tstzrange($4, $5, '[)')))) \
         ORDER BY v.full_name, v.id LIMIT $6 OFFSET $7"
    ))
    .bind::<Double, _>(point.lon)
    .bind::<Double, _>(point.lat)
    .bind::<Nullable<SqlUuid>, _>(specialty)
    .bind::<Nullable<Timestamptz>, _>(window.map(|w| w.0))
    .bind::<Nullable<Timestamptz>, _>(window.map(|w| w.1))
    .bind::<Nullable<diesel::sql_types::BigInt>, _>(page.map(|p| p.limit))
    .bind::<diesel::sql_types::BigInt, _>(page.map_or(0, |p| p.offset))
    .load(conn)
    .await?)
}

/// The vet directory's version (`vet_directory_version`): the database's epoch (new in
/// every database) and a number that moves with every change to the vets, their
/// coverage areas or their specialties.
pub async fn directory_version(conn: &mut AsyncPgConnection) -> Result<(Uuid, i64), Error> {
    use crate::schema::vet_directory_version::dsl::*;
    Ok(vet_directory_version
        .select((epoch, version))
        .first(conn)
        .await?)
}

/// One coverage area of an active vet, with the vet and their specialties: a row of the
/// directory the API searches in memory.
#[derive(Debug, Clone, QueryableByName)]
pub struct DirectoryRow {
    #[diesel(embed)]
    pub vet: VetRow,
    /// The area in plane coordinates, as WKB (`ST_AsBinary(area_plane)`): the stored
    /// doubles exactly, so a point on a stored vertex or edge is on it in memory too.
    #[diesel(sql_type = diesel::sql_types::Binary)]
    pub area: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Array<SqlUuid>)]
    pub specialties: Vec<Uuid>,
}

/// The whole searchable directory and its version, read in one snapshot (so the
/// version names exactly these rows): every live coverage area of every active vet, in
/// the search's order (name in the database's collation, then id; a vet's areas
/// together).
pub async fn directory(
    conn: &mut AsyncPgConnection,
) -> Result<((Uuid, i64), Vec<DirectoryRow>), Error> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run(async |conn| {
            let version = directory_version(conn).await?;
            let rows = diesel::sql_query(
                "SELECT v.id, v.user_id, v.full_name, v.license_number, v.cuit, v.phone, \
                        v.active, v.created_at, ST_AsBinary(a.area_plane) AS area, \
                        ARRAY(SELECT s.specialty_id FROM vet_specialties s WHERE s.vet_id = v.id) \
                          AS specialties \
                 FROM veterinarians v \
                 JOIN vet_coverage_areas a ON a.vet_id = v.id AND a.deleted_at IS NULL \
                 WHERE v.deleted_at IS NULL AND v.active \
                 ORDER BY v.full_name, v.id, a.id",
            )
            .load(conn)
            .await?;
            Ok((version, rows))
        })
        .await
}

/// Replaces the vet's specialties with `specialties`, in one transaction.
pub async fn set_specialties(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    specialties: &[Uuid],
) -> Result<(), Error> {
    let specialties = specialties.to_vec();
    conn.transaction::<_, Error, _>(async move |conn| {
        // Only what changes is written: the same set again changes no row (and so does
        // not move the vet directory's version, which every vet search reads).
        diesel::delete(
            vet_specialties::table
                .filter(vet_specialties::vet_id.eq(vet.into_uuid()))
                .filter(vet_specialties::specialty_id.ne_all(&specialties)),
        )
        .execute(conn)
        .await?;
        let rows: Vec<_> = specialties
            .iter()
            .map(|s| {
                (
                    vet_specialties::vet_id.eq(vet.into_uuid()),
                    vet_specialties::specialty_id.eq(*s),
                )
            })
            .collect();
        diesel::insert_into(vet_specialties::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

pub async fn specialties_of(conn: &mut AsyncPgConnection, vet: VetId) -> Result<Vec<Uuid>, Error> {
    Ok(vet_specialties::table
        .filter(vet_specialties::vet_id.eq(vet.into_uuid()))
        .select(vet_specialties::specialty_id)
        .order(vet_specialties::specialty_id)
        .load(conn)
        .await?)
}

/// A weekly slot, in the business zone's local time (America/Argentina/Buenos_Aires).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = vet_availability)]
pub struct AvailabilityRow {
    pub id: Uuid,
    pub vet_id: Uuid,
    /// ISO weekday: 1 = Monday ... 7 = Sunday.
    pub weekday: i16,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
}

pub async fn add_availability(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    weekday: i16,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
) -> Result<AvailabilityRow, Error> {
    Ok(diesel::insert_into(vet_availability::table)
        .values((
            vet_availability::id.eq(Uuid::now_v7()),
            vet_availability::vet_id.eq(vet.into_uuid()),
            vet_availability::weekday.eq(weekday),
            vet_availability::starts_at.eq(starts_at),
            vet_availability::ends_at.eq(ends_at),
        ))
        .returning(AvailabilityRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn availability(
    conn: &mut AsyncPgConnection,
    vet: VetId,
) -> Result<Vec<AvailabilityRow>, Error> {
    Ok(vet_availability::table
        .filter(vet_availability::vet_id.eq(vet.into_uuid()))
        .filter(vet_availability::deleted_at.is_null())
        .order((vet_availability::weekday, vet_availability::starts_at))
        .select(AvailabilityRow::as_select())
        .load(conn)
        .await?)
}

pub async fn delete_availability(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    id: Uuid,
) -> Result<bool, Error> {
    let n = diesel::update(vet_availability::table.find(id))
        .filter(vet_availability::vet_id.eq(vet.into_uuid()))
        .filter(vet_availability::deleted_at.is_null())
        .set(vet_availability::deleted_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct TimeOffRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub starts: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub ends: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub reason: Option<String>,
}

pub async fn add_time_off(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    reason: Option<&str>,
) -> Result<TimeOffRow, Error> {
    Ok(diesel::sql_query(
        "INSERT INTO vet_time_off (id, vet_id, during, reason) VALUES ($1, $2, tstzrange($3, $4, '[)'), $5) \
         RETURNING id, lower(during) AS starts, upper(during) AS ends, reason",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(vet.into_uuid())
    .bind::<Timestamptz, _>(starts)
    .bind::<Timestamptz, _>(ends)
    .bind::<Nullable<Text>, _>(reason)
    .get_result(conn)
    .await?)
}

pub async fn time_off(conn: &mut AsyncPgConnection, vet: VetId) -> Result<Vec<TimeOffRow>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, lower(during) AS starts, upper(during) AS ends, reason FROM vet_time_off \
         WHERE vet_id = $1 AND deleted_at IS NULL ORDER BY lower(during)",
    )
    .bind::<SqlUuid, _>(vet.into_uuid())
    .load(conn)
    .await?)
}

pub async fn delete_time_off(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    id: Uuid,
) -> Result<bool, Error> {
    let n = diesel::sql_query(
        "UPDATE vet_time_off SET deleted_at = now() WHERE id = $1 AND vet_id = $2 AND deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(vet.into_uuid())
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Vets (staff's list), newest first; `name_contains` filters by name, `active` by state.
pub async fn vets(
    conn: &mut AsyncPgConnection,
    name_contains: Option<&str>,
    active: Option<bool>,
    page: crate::Page,
) -> Result<Vec<VetRow>, Error> {
    let mut query = veterinarians::table
        .filter(veterinarians::deleted_at.is_null())
        .select(VetRow::as_select())
        .order((veterinarians::created_at.desc(), veterinarians::id))
        .limit(page.limit)
        .offset(page.offset)
        .into_boxed();
    if let Some(name) = name_contains {
        query =
            query.filter(veterinarians::full_name.ilike(format!("%{}%", crate::escape_like(name))));
    }
    if let Some(active) = active {
        query = query.filter(veterinarians::active.eq(active));
    }
    Ok(query.load(conn).await?)
}

/// Changes to a vet's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = veterinarians)]
pub struct VetChanges {
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub license_number: Option<String>,
    pub active: Option<bool>,
}

pub async fn update_vet(
    conn: &mut AsyncPgConnection,
    id: VetId,
    changes: &VetChanges,
) -> Result<Option<VetRow>, Error> {
    Ok(diesel::update(
        veterinarians::table
            .find(id.into_uuid())
            .filter(veterinarians::deleted_at.is_null()),
    )
    .set((changes, veterinarians::updated_at.eq(diesel::dsl::now)))
    .returning(VetRow::as_returning())
    .get_result(conn)
    .await
    .optional()?)
}
