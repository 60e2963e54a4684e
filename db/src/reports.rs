//! A visit and its report: what the vet found and did, filed once by the visit's vet or
//! staff, corrected by its author (each correction one more revision) until staff lock
//! it, with its files (same rules as studies' files).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    OptionalExtension, QueryableByName,
    sql_types::{Bool, Date, Int4, Int8, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{RequestId, UserId};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::Error;

/// A visit with who may see it and what it was for.
#[derive(Debug, Clone, QueryableByName)]
pub struct VisitRow {
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub request_id: Uuid,
    #[diesel(sql_type = Text)]
    pub request_state: String,
    /// `scheduled`, `completed`, `cancelled` or `no_show`.
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Timestamptz)]
    pub start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub end: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    pub vet_id: Uuid,
    #[diesel(sql_type = Text)]
    pub vet_name: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub owner_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub pet_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub pet: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub service: Option<String>,
}

const VISIT: &str = "SELECT v.id AS visit_id, v.request_id, r.state::text AS request_state, \
       v.status::text AS status, lower(v.scheduled) AS start, upper(v.scheduled) AS \"end\", \
       v.vet_id, vt.full_name AS vet_name, r.owner_id, r.pet_id, p.name AS pet, s.name AS service \
     FROM visits v \
     JOIN service_requests r ON r.id = v.request_id \
     JOIN veterinarians vt ON vt.id = v.vet_id \
     LEFT JOIN pets p ON p.id = r.pet_id \
     LEFT JOIN services s ON s.id = r.service_id \
     WHERE v.deleted_at IS NULL";

/// The visit `id`, whoever may see it (the caller checks).
pub async fn visit(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<VisitRow>, Error> {
    Ok(diesel::sql_query(format!("{VISIT} AND v.id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()?)
}

/// The report's fields, as filed or corrected.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFields {
    pub findings: String,
    pub diagnosis: String,
    pub treatment: Option<String>,
    pub recommendations: Option<String>,
    pub weight_kg: Option<Decimal>,
    pub next_checkup_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct ReportRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub author_user_id: Uuid,
    #[diesel(sql_type = Text)]
    pub author_name: String,
    #[diesel(sql_type = Text)]
    pub findings: String,
    #[diesel(sql_type = Text)]
    pub diagnosis: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub treatment: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub recommendations: Option<String>,
    /// As PostgreSQL writes it (`12.50`); see [`ReportRow::weight`].
    #[diesel(sql_type = Nullable<Text>)]
    pub weight_kg: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub next_checkup_on: Option<NaiveDate>,
    #[diesel(sql_type = Int4)]
    pub revision: i32,
    #[diesel(sql_type = Timestamptz)]
    pub filed_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub locked_at: Option<DateTime<Utc>>,
}

impl ReportRow {
    /// The pet's weight, in kilograms.
    pub fn weight(&self) -> Option<Decimal> {
        self.weight_kg
            .as_deref()
            .and_then(|w| w.parse::<Decimal>().ok())
            .map(|w| w.normalize())
    }
}

const REPORT: &str = "SELECT r.id, r.visit_id, r.author_user_id, u.full_name AS author_name, \
       r.findings, r.diagnosis, r.treatment, r.recommendations, r.weight_kg::text AS weight_kg, r.next_checkup_on, \
       r.revision, r.filed_at, r.updated_at, r.locked_at \
     FROM visit_reports r JOIN users u ON u.id = r.author_user_id";

/// The visit's report, if filed.
pub async fn report(conn: &mut AsyncPgConnection, visit: Uuid) -> Result<Option<ReportRow>, Error> {
    Ok(diesel::sql_query(format!("{REPORT} WHERE r.visit_id = $1"))
        .bind::<SqlUuid, _>(visit)
        .get_result(conn)
        .await
        .optional()?)
}

/// What saving a report did.
#[derive(Debug)]
pub enum Saved {
    /// The first filing.
    Filed(ReportRow),
    /// A correction by its author: one more revision.
    Corrected(ReportRow),
    /// Staff locked it: no more corrections.
    Locked,
    /// Someone else filed it; only they correct it.
    NotAuthor,
}

/// Files the visit's report, or corrects it when `author` filed it and it is not
/// locked; one transaction, the visit's and the report's rows locked while it is
/// decided. The same
/// fields again change nothing (no new revision).
pub async fn save_report(
    conn: &mut AsyncPgConnection,
    visit: Uuid,
    author: UserId,
    fields: &ReportFields,
) -> Result<Saved, Error> {
    let fields = fields.clone();
    conn.transaction::<_, Error, _>(async move |conn| {
        // The visit's row first: two first filings at once wait for each other, so the
        // second corrects what the first filed.
        diesel::sql_query("SELECT 1 AS n FROM visits WHERE id = $1 FOR UPDATE")
            .bind::<SqlUuid, _>(visit)
            .execute(conn)
            .await?;
        let current: Option<ReportRow> =
            diesel::sql_query(format!("{REPORT} WHERE r.visit_id = $1 FOR UPDATE OF r"))
                .bind::<SqlUuid, _>(visit)
                .get_result(conn)
                .await
                .optional()?;
        let sql = match &current {
            None => {
                "INSERT INTO visit_reports (id, visit_id, author_user_id, findings, diagnosis, \
                   treatment, recommendations, weight_kg, next_checkup_on) \
                 VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7::numeric, $8)"
            }
            Some(row) if row.locked_at.is_some() => return Ok(Saved::Locked),
            Some(row) if row.author_user_id != author.into_uuid() => {
                return Ok(Saved::NotAuthor);
            }
            Some(row) if same(row, &fields) => return Ok(Saved::Corrected(row.clone())),
            Some(_) => {
                "UPDATE visit_reports SET findings = $3, diagnosis = $4, treatment = $5, \
                   recommendations = $6, weight_kg = $7::numeric, next_checkup_on = $8, \
                   revision = revision + 1, updated_at = now() \
                 WHERE visit_id = $1 AND author_user_id = $2"
            }
        };
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(visit)
            .bind::<SqlUuid, _>(author.into_uuid())
            .bind::<Text, _>(&fields.findings)
            .bind::<Text, _>(&fields.diagnosis)
            .bind::<Nullable<Text>, _>(fields.treatment.as_deref())
            .bind::<Nullable<Text>, _>(fields.recommendations.as_deref())
            .bind::<Nullable<Text>, _>(fields.weight_kg.map(|w| w.to_string()))
            .bind::<Nullable<Date>, _>(fields.next_checkup_on)
            .execute(conn)
            .await?;
        let row = diesel::sql_query(format!("{REPORT} WHERE r.visit_id = $1"))
            .bind::<SqlUuid, _>(visit)
            .get_result(conn)
            .await?;
        Ok(match current {
            None => Saved::Filed(row),
            Some(_) => Saved::Corrected(row),
        })
    })
    .await
}

fn same(row: &ReportRow, fields: &ReportFields) -> bool {
    row.findings == fields.findings
        && row.diagnosis == fields.diagnosis
        && row.treatment == fields.treatment
        && row.recommendations == fields.recommendations
        && row.weight() == fields.weight_kg
        && row.next_checkup_on == fields.next_checkup_on
}

/// Locks the visit's report against corrections (idempotent: the first lock stays).
pub async fn lock_report(
    conn: &mut AsyncPgConnection,
    visit: Uuid,
    by: UserId,
) -> Result<Option<ReportRow>, Error> {
    diesel::sql_query(
        "UPDATE visit_reports SET locked_at = now(), locked_by = $2, updated_at = now() \
         WHERE visit_id = $1 AND locked_at IS NULL",
    )
    .bind::<SqlUuid, _>(visit)
    .bind::<SqlUuid, _>(by.into_uuid())
    .execute(conn)
    .await?;
    report(conn, visit).await
}

/// The request's filed report, for its workflow: which visit, by whom, which revision.
///
/// FROZEN wire type: it reaches workflow histories (an activity's result), so fields
/// are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, QueryableByName)]
pub struct FiledReport {
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub author_user_id: Uuid,
    /// The author's vet id, when a vet filed it (staff otherwise).
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub author_vet_id: Option<Uuid>,
    #[diesel(sql_type = Int4)]
    pub revision: i32,
}

/// The report filed for the request's live visit, if any.
pub async fn filed_report(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<FiledReport>, Error> {
    Ok(diesel::sql_query(
        "SELECT r.visit_id, r.author_user_id, vt.id AS author_vet_id, r.revision \
         FROM visit_reports r JOIN visits v ON v.id = r.visit_id \
         LEFT JOIN veterinarians vt ON vt.user_id = r.author_user_id \
         WHERE v.request_id = $1 AND v.status <> 'cancelled' AND v.deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .get_result(conn)
    .await
    .optional()?)
}

/// A file of a report.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReportFileRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub report_id: Uuid,
    #[diesel(sql_type = Text)]
    pub storage_key: String,
    #[diesel(sql_type = Text)]
    pub file_name: String,
    #[diesel(sql_type = Text)]
    pub content_type: String,
    #[diesel(sql_type = Int8)]
    pub size_bytes: i64,
}

/// Records a file stored for `row.report_id`, unless the report was locked meanwhile
/// (`false`); the report's row is share-locked, so a lock at the same moment comes
/// either before (no file) or after.
pub async fn insert_file(conn: &mut AsyncPgConnection, row: &ReportFileRow) -> Result<bool, Error> {
    let added = diesel::sql_query(
        "INSERT INTO visit_report_files (id, report_id, storage_key, file_name, content_type, size_bytes) \
         SELECT $1, $2, $3, $4, $5, $6 FROM visit_reports WHERE id = $2 AND locked_at IS NULL \
         FOR SHARE",
    )
    .bind::<SqlUuid, _>(row.id)
    .bind::<SqlUuid, _>(row.report_id)
    .bind::<Text, _>(&row.storage_key)
    .bind::<Text, _>(&row.file_name)
    .bind::<Text, _>(&row.content_type)
    .bind::<Int8, _>(row.size_bytes)
    .execute(conn)
    .await?;
    Ok(added == 1)
}

const FILE: &str = "SELECT id, report_id, storage_key, file_name, content_type, size_bytes \
     FROM visit_report_files WHERE deleted_at IS NULL";

/// The report's files, in the order they were added.
pub async fn files_of(
    conn: &mut AsyncPgConnection,
    report: Uuid,
) -> Result<Vec<ReportFileRow>, Error> {
    Ok(
        diesel::sql_query(format!("{FILE} AND report_id = $1 ORDER BY id"))
            .bind::<SqlUuid, _>(report)
            .load(conn)
            .await?,
    )
}

pub async fn file(
    conn: &mut AsyncPgConnection,
    report: Uuid,
    id: Uuid,
) -> Result<Option<ReportFileRow>, Error> {
    Ok(
        diesel::sql_query(format!("{FILE} AND report_id = $1 AND id = $2"))
            .bind::<SqlUuid, _>(report)
            .bind::<SqlUuid, _>(id)
            .get_result(conn)
            .await
            .optional()?,
    )
}

/// Removes a file from the report's reads, unless the report is locked; `false` when
/// there was no such file or it is locked.
pub async fn delete_file(
    conn: &mut AsyncPgConnection,
    report: Uuid,
    id: Uuid,
) -> Result<bool, Error> {
    let removed = diesel::sql_query(
        "UPDATE visit_report_files f SET deleted_at = now() \
         WHERE f.report_id = $1 AND f.id = $2 AND f.deleted_at IS NULL \
           AND f.report_id IN (SELECT id FROM visit_reports \
                               WHERE id = $1 AND locked_at IS NULL FOR SHARE)",
    )
    .bind::<SqlUuid, _>(report)
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await?;
    Ok(removed == 1)
}

/// Everything the report's PDF and email show.
#[derive(Debug, Clone)]
pub struct ReportSheet {
    pub visit: VisitRow,
    pub report: ReportRow,
    pub files: Vec<ReportFileRow>,
    pub owner_name: Option<String>,
    pub species: Option<String>,
    pub breed: Option<String>,
    pub vet_license: String,
}

#[derive(QueryableByName)]
struct SheetExtras {
    #[diesel(sql_type = Nullable<Text>)]
    owner_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    species: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    breed: Option<String>,
    #[diesel(sql_type = Text)]
    vet_license: String,
    #[diesel(sql_type = Bool)]
    _found: bool,
}

/// The visit's report with all it shows, if filed.
pub async fn report_sheet(
    conn: &mut AsyncPgConnection,
    visit_id: Uuid,
) -> Result<Option<ReportSheet>, Error> {
    let (Some(visit), Some(report)) = (visit(conn, visit_id).await?, report(conn, visit_id).await?)
    else {
        return Ok(None);
    };
    let files = files_of(conn, report.id).await?;
    let extras: SheetExtras = diesel::sql_query(
        "SELECT o.full_name AS owner_name, sp.name AS species, b.name AS breed, \
           vt.license_number AS vet_license, true AS _found \
         FROM visits v JOIN service_requests r ON r.id = v.request_id \
         JOIN veterinarians vt ON vt.id = v.vet_id \
         LEFT JOIN pet_owners o ON o.id = r.owner_id \
         LEFT JOIN pets p ON p.id = r.pet_id \
         LEFT JOIN species sp ON sp.id = p.species_id \
         LEFT JOIN breeds b ON b.id = p.breed_id \
         WHERE v.id = $1",
    )
    .bind::<SqlUuid, _>(visit_id)
    .get_result(conn)
    .await?;
    Ok(Some(ReportSheet {
        visit,
        report,
        files,
        owner_name: extras.owner_name,
        species: extras.species,
        breed: extras.breed,
        vet_license: extras.vet_license,
    }))
}
