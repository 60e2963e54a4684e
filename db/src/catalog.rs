//! The service catalog and the neighborhoods that scale prices by distance.

use diesel::{
    QueryableByName,
    sql_types::{Bool, Double, Integer, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::LatLon;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct ServiceRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Integer)]
    pub duration_minutes: i32,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub specialty_id: Option<Uuid>,
    #[diesel(sql_type = Bool)]
    pub active: bool,
}

const SERVICE_COLUMNS: &str = "id, code, name, description, duration_minutes, specialty_id, active";

#[derive(Debug, Clone)]
pub struct NewService {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    pub specialty_id: Option<Uuid>,
}

pub async fn services(conn: &mut AsyncPgConnection) -> Result<Vec<ServiceRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT {SERVICE_COLUMNS} FROM services WHERE deleted_at IS NULL ORDER BY name"
    ))
    .load(conn)
    .await?)
}

pub async fn insert_service(
    conn: &mut AsyncPgConnection,
    new: &NewService,
) -> Result<ServiceRow, Error> {
    Ok(diesel::sql_query(format!(
        "INSERT INTO services (id, code, name, description, duration_minutes, specialty_id) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {SERVICE_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(&new.code)
    .bind::<Text, _>(&new.name)
    .bind::<Nullable<Text>, _>(new.description.as_deref())
    .bind::<Integer, _>(new.duration_minutes)
    .bind::<Nullable<SqlUuid>, _>(new.specialty_id)
    .get_result(conn)
    .await?)
}

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct NeighborhoodRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// GeoJSON MultiPolygon.
    #[diesel(sql_type = Text)]
    pub area: String,
    /// Exact decimal, as text.
    #[diesel(sql_type = Text)]
    pub distance_coefficient: String,
}

const NEIGHBORHOOD_COLUMNS: &str =
    "id, name, ST_AsGeoJSON(area) AS area, distance_coefficient::text AS distance_coefficient";

pub async fn neighborhoods(conn: &mut AsyncPgConnection) -> Result<Vec<NeighborhoodRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT {NEIGHBORHOOD_COLUMNS} FROM neighborhoods WHERE deleted_at IS NULL ORDER BY name"
    ))
    .load(conn)
    .await?)
}

/// Adds a neighborhood from a GeoJSON Polygon (stored as a MultiPolygon). The caller has
/// checked its shape; PostGIS validity is checked here.
pub async fn insert_neighborhood(
    conn: &mut AsyncPgConnection,
    name: &str,
    geojson: &str,
    coefficient: &str,
) -> Result<Result<NeighborhoodRow, String>, Error> {
    if let Some(reason) = invalid_reason(conn, geojson).await? {
        return Ok(Err(reason));
    }
    Ok(Ok(diesel::sql_query(format!(
        "INSERT INTO neighborhoods (id, name, area, distance_coefficient) \
         VALUES ($1, $2, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($3), 4326))::geography, $4::numeric) \
         RETURNING {NEIGHBORHOOD_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(name)
    .bind::<Text, _>(geojson)
    .bind::<Text, _>(coefficient)
    .get_result(conn)
    .await?))
}

#[derive(QueryableByName)]
struct Reason {
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
}

/// The neighborhood containing `point` (its border included), if any. Where two touch,
/// the one with the smaller coefficient wins, so a border never costs more.
pub async fn neighborhood_at(
    conn: &mut AsyncPgConnection,
    point: LatLon,
) -> Result<Option<NeighborhoodRow>, Error> {
    let rows: Vec<NeighborhoodRow> = diesel::sql_query(format!(
        "SELECT {NEIGHBORHOOD_COLUMNS} FROM neighborhoods \
         WHERE deleted_at IS NULL AND ST_Covers(area, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography) \
         ORDER BY distance_coefficient, name LIMIT 1"
    ))
    .bind::<Double, _>(point.lon)
    .bind::<Double, _>(point.lat)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// Changes to a service; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ServiceChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub duration_minutes: Option<i32>,
    pub specialty_id: Option<Option<Uuid>>,
    pub active: Option<bool>,
}

pub async fn service(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<ServiceRow>, Error> {
    let rows: Vec<ServiceRow> = diesel::sql_query(format!(
        "SELECT {SERVICE_COLUMNS} FROM services WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// The changed live service, or `None` when there is none with this id.
pub async fn update_service(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ServiceChanges,
) -> Result<Option<ServiceRow>, Error> {
    let rows: Vec<ServiceRow> = diesel::sql_query(format!(
        "UPDATE services SET name = COALESCE($2, name), \
           description = CASE WHEN $3 THEN $4 ELSE description END, \
           duration_minutes = COALESCE($5, duration_minutes), \
           specialty_id = CASE WHEN $6 THEN $7 ELSE specialty_id END, \
           active = COALESCE($8, active), updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL RETURNING {SERVICE_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Text>, _>(changes.name.as_deref())
    .bind::<Bool, _>(changes.description.is_some())
    .bind::<Nullable<Text>, _>(changes.description.clone().flatten())
    .bind::<Nullable<Integer>, _>(changes.duration_minutes)
    .bind::<Bool, _>(changes.specialty_id.is_some())
    .bind::<Nullable<SqlUuid>, _>(changes.specialty_id.flatten())
    .bind::<Nullable<Bool>, _>(changes.active)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

pub async fn neighborhood(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<NeighborhoodRow>, Error> {
    let rows: Vec<NeighborhoodRow> = diesel::sql_query(format!(
        "SELECT {NEIGHBORHOOD_COLUMNS} FROM neighborhoods WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// Why PostGIS finds this GeoJSON geometry invalid, if it does.
async fn invalid_reason(
    conn: &mut AsyncPgConnection,
    geojson: &str,
) -> Result<Option<String>, Error> {
    Ok(diesel::sql_query(
        "SELECT CASE WHEN ST_IsValid(g) THEN NULL ELSE ST_IsValidReason(g) END AS reason \
         FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g) AS candidate",
    )
    .bind::<Text, _>(geojson)
    .get_result::<Reason>(conn)
    .await?
    .reason)
}

/// Changes a live neighborhood: `Ok(None)` when there is none with this id, `Err(reason)`
/// when the new area is not a valid geometry.
pub async fn update_neighborhood(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    name: Option<&str>,
    geojson: Option<&str>,
    coefficient: Option<&str>,
) -> Result<Result<Option<NeighborhoodRow>, String>, Error> {
    if let Some(geojson) = geojson
        && let Some(reason) = invalid_reason(conn, geojson).await?
    {
        return Ok(Err(reason));
    }
    let rows: Vec<NeighborhoodRow> = diesel::sql_query(format!(
        "UPDATE neighborhoods SET name = COALESCE($2, name), \
           area = COALESCE(ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($3), 4326))::geography, area), \
           distance_coefficient = COALESCE($4::numeric, distance_coefficient), updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL RETURNING {NEIGHBORHOOD_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Text>, _>(name)
    .bind::<Nullable<Text>, _>(geojson)
    .bind::<Nullable<Text>, _>(coefficient)
    .load(conn)
    .await?;
    Ok(Ok(rows.into_iter().next()))
}
