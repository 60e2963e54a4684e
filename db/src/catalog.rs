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

pub async fn delete_service(conn: &mut AsyncPgConnection, id: Uuid) -> Result<bool, Error> {
    let n = diesel::sql_query(
        "UPDATE services SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await?;
    Ok(n == 1)
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
    let reason: Option<String> = diesel::sql_query(
        "SELECT CASE WHEN ST_IsValid(g) THEN NULL ELSE ST_IsValidReason(g) END AS reason \
         FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g) AS candidate",
    )
    .bind::<Text, _>(geojson)
    .get_result::<Reason>(conn)
    .await?
    .reason;
    if let Some(reason) = reason {
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
