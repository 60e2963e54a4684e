//! A report's files (a lab result, an X-ray): added and removed by the report's author
//! until staff lock it, with the studies' rules (one part named `file`, at most
//! `STUDY_FILE_MAX_BYTES`, PDF, JPEG, PNG, WebP or DICOM by content); read by whoever
//! reads the report.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use db::reports::{ReportFileRow, ReportRow};
use domain::pets::clean_file_name;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Viewer, visible_visit};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, Problem},
    extract::{PathId, PathIds},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(upload_report_file, download_report_file, delete_report_file))]
pub struct Docs;

pub fn router(max_file_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/visits/{id}/report/files",
            post(upload_report_file).layer(DefaultBodyLimit::max(max_file_bytes + 64 * 1024)),
        )
        .route(
            "/visits/{id}/report/files/{report_file_id}",
            get(download_report_file).delete(delete_report_file),
        )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportFile {
    pub id: Uuid,
    pub file_name: String,
    /// What the content is (recognised from the bytes).
    #[schema(example = "application/pdf")]
    pub content_type: String,
    pub size_bytes: i64,
    /// `GET` it (signed in) for the bytes.
    pub download_url: String,
}

impl ReportFile {
    pub(crate) fn new(visit: Uuid, row: ReportFileRow) -> Self {
        Self {
            download_url: format!("{}/files/{}", super::report_url(visit), row.id),
            id: row.id,
            file_name: row.file_name,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
        }
    }
}

/// The visit's report, which the caller may change: its author, not locked.
async fn changeable_report(
    user: &AuthUser,
    conn: &mut db::Conn,
    id: Uuid,
) -> Result<ReportRow, ApiError> {
    let (_, viewer) = visible_visit(user, conn, id).await?;
    let report = db::reports::report(conn, id)
        .await?
        .ok_or(ApiError::NotFound("report"))?;
    if viewer == Viewer::Owner || report.author_user_id != user.id.into_uuid() {
        let why = "only the report's author adds or removes its files";
        return Err(ApiError::Forbidden(why.into()));
    }
    if report.locked_at.is_some() {
        return Err(locked());
    }
    Ok(report)
}

fn locked() -> ApiError {
    ApiError::conflict(
        "report-locked",
        "staff locked the report: its files stay as they are",
    )
}

#[utoipa::path(post, path = "/api/v1/visits/{id}/report/files", tag = "visits", params(("id" = Uuid, Path)),
    request_body(content = crate::routes::studies::UploadForm, content_type = "multipart/form-data"), security(("bearer" = [])),
    responses((status = 201, body = ReportFile),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the report's author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such visit or not the caller's, or no report filed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`report-locked`", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Attaches a file to the report.
async fn upload_report_file(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    // Who may, before the body is read; no connection held while it streams in.
    let report = {
        let mut conn = db::conn(&state.pool).await?;
        changeable_report(&user, &mut conn, id).await?
    };
    let (name, bytes, kind) =
        crate::uploads::read_file(form, state.settings.study_file_max_bytes).await?;
    let file_id = Uuid::now_v7();
    let row = ReportFileRow {
        id: file_id,
        report_id: report.id,
        storage_key: format!("reports/{}/{file_id}", report.id),
        file_name: clean_file_name(name.as_deref(), &format!("adjunto.{}", kind.extension())),
        content_type: kind.mime().to_owned(),
        size_bytes: i64::try_from(bytes.len()).map_err(|e| ApiError::Internal(e.into()))?,
    };
    let recorded = async {
        let mut conn = db::conn(&state.pool).await?;
        // Locked while the file streamed in: refused, like before.
        if db::reports::insert_file(&mut conn, &row).await? {
            Ok(())
        } else {
            Err(locked())
        }
    };
    crate::uploads::store_then_record(&state, &row.storage_key, bytes, recorded).await?;
    Ok((StatusCode::CREATED, Json(ReportFile::new(id, row))).into_response())
}

#[utoipa::path(get, path = "/api/v1/visits/{id}/report/files/{report_file_id}", tag = "visits",
    params(("id" = Uuid, Path), ("report_file_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The file's bytes, as an attachment"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn download_report_file(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, file_id): PathIds<Uuid, Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    visible_visit(&user, &mut conn, id).await?;
    let report = db::reports::report(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("report"))?;
    let file = db::reports::file(&mut conn, report.id, file_id)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    drop(conn);
    crate::uploads::download(
        &state,
        &file.storage_key,
        &file.content_type,
        file.size_bytes,
        &file.file_name,
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/visits/{id}/report/files/{report_file_id}", tag = "visits",
    params(("id" = Uuid, Path), ("report_file_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the report's author", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`report-locked`", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Removes a file from the report (the stored bytes are kept).
async fn delete_report_file(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, file_id): PathIds<Uuid, Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let report = changeable_report(&user, &mut conn, id).await?;
    if db::reports::delete_file(&mut conn, report.id, file_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("file"))
    }
}
