//! A pet's studies (lab and imaging results) and the files attached to them. The files'
//! bytes live in object storage; these rows say where. Every read skips soft-deleted rows
//! and studies of deleted pets.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::OwnerId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Error,
    schema::{pets, studies, study_files},
};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = studies)]
pub struct StudyRow {
    pub id: Uuid,
    pub pet_id: Uuid,
    pub study_type_id: Uuid,
    pub performed_on: NaiveDate,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = studies)]
pub struct NewStudy {
    pub id: Uuid,
    pub pet_id: Uuid,
    pub study_type_id: Uuid,
    pub performed_on: NaiveDate,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = study_files)]
pub struct StudyFileRow {
    pub id: Uuid,
    pub study_id: Uuid,
    pub storage_key: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

pub async fn insert_study(conn: &mut AsyncPgConnection, new: &NewStudy) -> Result<StudyRow, Error> {
    Ok(diesel::insert_into(studies::table)
        .values(new)
        .returning(StudyRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A live study of a live pet; `owner` restricts to that owner's pets.
pub async fn study(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Option<OwnerId>,
) -> Result<Option<StudyRow>, Error> {
    let mut query = studies::table
        .inner_join(pets::table)
        .filter(studies::id.eq(id))
        .filter(studies::deleted_at.is_null())
        .filter(pets::deleted_at.is_null())
        .select(StudyRow::as_select())
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(pets::owner_id.eq(owner.into_uuid()));
    }
    Ok(query.first(conn).await.optional()?)
}

/// The live studies of one pet, newest first (the caller has checked the pet is visible).
pub async fn studies_of(conn: &mut AsyncPgConnection, pet: Uuid) -> Result<Vec<StudyRow>, Error> {
    Ok(studies::table
        .filter(studies::pet_id.eq(pet))
        .filter(studies::deleted_at.is_null())
        .select(StudyRow::as_select())
        .order((studies::performed_on.desc(), studies::id.desc()))
        .load(conn)
        .await?)
}

/// The live files of these studies, oldest first.
pub async fn files_of(
    conn: &mut AsyncPgConnection,
    study_ids: &[Uuid],
) -> Result<Vec<StudyFileRow>, Error> {
    Ok(study_files::table
        .filter(study_files::study_id.eq_any(study_ids))
        .filter(study_files::deleted_at.is_null())
        .select(StudyFileRow::as_select())
        .order(study_files::id.asc())
        .load(conn)
        .await?)
}

pub async fn file(
    conn: &mut AsyncPgConnection,
    study: Uuid,
    id: Uuid,
) -> Result<Option<StudyFileRow>, Error> {
    Ok(study_files::table
        .filter(study_files::id.eq(id))
        .filter(study_files::study_id.eq(study))
        .filter(study_files::deleted_at.is_null())
        .select(StudyFileRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

pub async fn insert_file(
    conn: &mut AsyncPgConnection,
    row: &StudyFileRow,
) -> Result<StudyFileRow, Error> {
    Ok(diesel::insert_into(study_files::table)
        .values(row)
        .returning(StudyFileRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Soft-deletes a study and its files. The stored bytes are kept: a medical record is
/// never destroyed by a click.
pub async fn delete_study(conn: &mut AsyncPgConnection, id: Uuid) -> Result<(), Error> {
    conn.transaction::<_, Error, _>(async move |conn| {
        diesel::update(studies::table.find(id))
            .set(studies::deleted_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        diesel::update(study_files::table.filter(study_files::study_id.eq(id)))
            .filter(study_files::deleted_at.is_null())
            .set(study_files::deleted_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// Soft-deletes one file; false when there was no such live file.
pub async fn delete_file(
    conn: &mut AsyncPgConnection,
    study: Uuid,
    id: Uuid,
) -> Result<bool, Error> {
    let n = diesel::update(
        study_files::table
            .filter(study_files::id.eq(id))
            .filter(study_files::study_id.eq(study))
            .filter(study_files::deleted_at.is_null()),
    )
    .set(study_files::deleted_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Whether `id` is a live study type.
pub async fn study_type_exists(conn: &mut AsyncPgConnection, id: Uuid) -> Result<bool, Error> {
    use crate::schema::study_types;
    Ok(diesel::select(diesel::dsl::exists(
        study_types::table
            .find(id)
            .filter(study_types::deleted_at.is_null()),
    ))
    .get_result(conn)
    .await?)
}
