//! Reference data that is just a named list (species, specialties, study types), handled
//! once for all of them, and AFIP's code tables.

use diesel::{
    QueryableByName,
    sql_types::{SmallInt, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

/// The named-list tables. The table name comes from this closed set, never from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedList {
    Species,
    Specialties,
    StudyTypes,
}

impl NamedList {
    pub const ALL: [NamedList; 3] = [Self::Species, Self::Specialties, Self::StudyTypes];

    const fn table(self) -> &'static str {
        match self {
            Self::Species => "species",
            Self::Specialties => "specialties",
            Self::StudyTypes => "study_types",
        }
    }

    /// The name in URLs: `species`, `specialties`, `study-types`.
    pub const fn slug(self) -> &'static str {
        match self {
            Self::Species => "species",
            Self::Specialties => "specialties",
            Self::StudyTypes => "study-types",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.slug() == slug)
    }
}

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct NamedRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
}

pub async fn list(conn: &mut AsyncPgConnection, list: NamedList) -> Result<Vec<NamedRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT id, name FROM {} WHERE deleted_at IS NULL ORDER BY name",
        list.table()
    ))
    .load(conn)
    .await?)
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    list: NamedList,
    name: &str,
) -> Result<NamedRow, Error> {
    Ok(diesel::sql_query(format!(
        "INSERT INTO {} (id, name) VALUES ($1, $2) RETURNING id, name",
        list.table()
    ))
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(name)
    .get_result(conn)
    .await?)
}

pub async fn rename(
    conn: &mut AsyncPgConnection,
    list: NamedList,
    id: Uuid,
    name: &str,
) -> Result<Option<NamedRow>, Error> {
    let rows: Vec<NamedRow> = diesel::sql_query(format!(
        "UPDATE {} SET name = $2, updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING id, name",
        list.table()
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(name)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// The table a list is kept in, for [`crate::retire`].
pub const fn retirable(list: NamedList) -> crate::Retirable {
    match list {
        NamedList::Species => crate::Retirable::Species,
        NamedList::Specialties => crate::Retirable::Specialties,
        NamedList::StudyTypes => crate::Retirable::StudyTypes,
    }
}

/// A row of an AFIP code table (document types, VAT conditions).
#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct CodeRow {
    #[diesel(sql_type = SmallInt)]
    pub id: i16,
    #[diesel(sql_type = Text)]
    pub name: String,
}

pub async fn document_types(conn: &mut AsyncPgConnection) -> Result<Vec<CodeRow>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, name FROM document_types WHERE deleted_at IS NULL ORDER BY id",
    )
    .load(conn)
    .await?)
}

pub async fn vat_conditions(conn: &mut AsyncPgConnection) -> Result<Vec<CodeRow>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, name FROM vat_conditions WHERE deleted_at IS NULL ORDER BY id",
    )
    .load(conn)
    .await?)
}
