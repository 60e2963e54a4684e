//! A pet's studies (lab and imaging results) with their files.
//!
//! Who: the pet's owner and staff (someone else's study is "not found"); anyone else 403.
//! Files are uploaded as `multipart/form-data` (one part named `file`), at most
//! `STUDY_FILE_MAX_BYTES`, and must be PDF, JPEG, PNG, WebP or DICOM — recognised by their
//! content, whatever name or type the client declared. The bytes go to object storage
//! before the row is written, so a listed file can always be downloaded.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Multipart, State, multipart::MultipartRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use db::studies::{NewStudy, StudyFileRow, StudyRow};
use domain::pets::clean_file_name;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{ApiJson, PathId, PathIds};
use crate::routes::helpers::Scoped;
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, FieldError, Problem},
    routes::helpers::owner_scope,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_studies,
    add_study,
    show_study,
    delete_study,
    upload_file,
    download_file,
    delete_file
))]
pub struct Docs;

/// `max_file_bytes`: the largest file accepted; the request body may carry a little more
/// (the multipart framing).
pub fn router(max_file_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/pets/{id}/studies", get(list_studies).post(add_study))
        .route("/studies/{id}", get(show_study).delete(delete_study))
        .route(
            "/studies/{id}/files",
            post(upload_file).layer(DefaultBodyLimit::max(max_file_bytes + 64 * 1024)),
        )
        .route(
            "/studies/{id}/files/{file_id}",
            get(download_file).delete(delete_file),
        )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StudyFile {
    pub id: Uuid,
    pub file_name: String,
    /// What the content is (recognised from the bytes).
    #[schema(example = "application/pdf")]
    pub content_type: String,
    pub size_bytes: i64,
    /// `GET` it (signed in) for the bytes.
    pub download_url: String,
}

impl From<StudyFileRow> for StudyFile {
    fn from(r: StudyFileRow) -> Self {
        Self {
            download_url: format!("/api/v1/studies/{}/files/{}", r.study_id, r.id),
            id: r.id,
            file_name: r.file_name,
            content_type: r.content_type,
            size_bytes: r.size_bytes,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Study {
    pub id: Uuid,
    pub pet_id: Uuid,
    pub study_type_id: Uuid,
    pub performed_on: NaiveDate,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub files: Vec<StudyFile>,
}

impl Study {
    fn new(row: StudyRow, files: Vec<StudyFileRow>) -> Self {
        Self {
            id: row.id,
            pet_id: row.pet_id,
            study_type_id: row.study_type_id,
            performed_on: row.performed_on,
            notes: row.notes,
            created_at: row.created_at,
            files: files.into_iter().map(StudyFile::from).collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStudyBody {
    pub study_type_id: Uuid,
    pub performed_on: NaiveDate,
    #[schema(example = "Hemograma completo, en ayunas")]
    pub notes: Option<String>,
}

/// The study `raw` if the caller may see it (404 otherwise).
async fn visible_study(
    user: &AuthUser,
    conn: &mut db::Conn,
    id: Uuid,
) -> Result<StudyRow, ApiError> {
    let scope = owner_scope(user)?;
    db::studies::study(conn, id, scope)
        .await?
        .ok_or(ApiError::NotFound("study"))
}

#[utoipa::path(get, path = "/api/v1/pets/{id}/studies", tag = "pets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [Study]), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// The pet's studies, most recent first, each with its files.
async fn list_studies(
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Vec<Study>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    db::pets::pet(&mut conn, id, scope)
        .await?
        .ok_or(ApiError::NotFound("pet"))?;
    let studies = db::studies::studies_of(&mut conn, id).await?;
    let ids: Vec<Uuid> = studies.iter().map(|s| s.id).collect();
    let mut files = db::studies::files_of(&mut conn, &ids).await?;
    Ok(Json(
        studies
            .into_iter()
            .map(|s| {
                let (own, rest) = files.drain(..).partition(|f| f.study_id == s.id);
                files = rest;
                Study::new(s, own)
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/pets/{id}/studies", tag = "pets", params(("id" = Uuid, Path)),
    request_body = NewStudyBody, security(("bearer" = [])),
    responses((status = 201, body = Study), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Records a study of the pet; attach its files with `POST /studies/{id}/files`.
async fn add_study(
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<NewStudyBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    if body.performed_on > Utc::now().date_naive() {
        errors.push(FieldError::new("performed_on", "must not be in the future"));
    }
    let notes = match body.notes.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(notes) if notes.chars().count() > 2000 => {
            errors.push(FieldError::new("notes", "must be at most 2000 characters"));
            None
        }
        Some(notes) => Some(notes.to_owned()),
    };
    let mut conn = db::conn(&state.pool).await?;
    let pet = db::pets::pet(&mut conn, id, scope)
        .await?
        .ok_or(ApiError::NotFound("pet"))?;
    if !db::studies::study_type_exists(&mut conn, body.study_type_id).await? {
        errors.push(FieldError::new("study_type_id", "unknown study type"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row = db::studies::insert_study(
        &mut conn,
        &NewStudy {
            id: Uuid::now_v7(),
            pet_id: pet.id,
            study_type_id: body.study_type_id,
            performed_on: body.performed_on,
            notes,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Study::new(row, Vec::new()))))
}

#[utoipa::path(get, path = "/api/v1/studies/{id}", tag = "pets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Study), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn show_study(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Study>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let study = visible_study(&user, &mut conn, id).await?;
    let files = db::studies::files_of(&mut conn, &[study.id]).await?;
    Ok(Json(Study::new(study, files)))
}

#[utoipa::path(delete, path = "/api/v1/studies/{id}", tag = "pets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Removes the study and its files from every read (the stored bytes are kept).
async fn delete_study(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let study = visible_study(&user, &mut conn, id).await?;
    db::studies::delete_study(&mut conn, study.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The multipart form of an upload (for the API docs).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// PDF, JPEG, PNG, WebP or DICOM, at most `STUDY_FILE_MAX_BYTES`.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    pub file: String,
}

#[utoipa::path(post, path = "/api/v1/studies/{id}/files", tag = "pets", params(("id" = Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"), security(("bearer" = [])),
    responses((status = 201, body = StudyFile), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Attaches a file to the study.
async fn upload_file(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, ApiError> {
    // Whose study it is, before any of the body is read; no pool connection is held
    // while the body streams in (a slow upload must not starve the pool).
    let study = {
        let mut conn = db::conn(&state.pool).await?;
        visible_study(&user, &mut conn, id).await?
    };
    let (name, bytes, kind) =
        crate::uploads::read_file(form, state.settings.study_file_max_bytes).await?;
    let file_id = Uuid::now_v7();
    let row = StudyFileRow {
        id: file_id,
        study_id: study.id,
        storage_key: format!("studies/{}/{file_id}", study.id),
        file_name: clean_file_name(name.as_deref(), &format!("study.{}", kind.extension())),
        content_type: kind.mime().to_owned(),
        size_bytes: i64::try_from(bytes.len()).map_err(|e| ApiError::Internal(e.into()))?,
    };
    let recorded = async {
        let mut conn = db::conn(&state.pool).await?;
        // Still there (it may have been deleted while the file streamed in).
        visible_study(&user, &mut conn, id).await?;
        Ok::<_, ApiError>(db::studies::insert_file(&mut conn, &row).await?)
    };
    let row = crate::uploads::store_then_record(&state, &row.storage_key, bytes, recorded).await?;
    Ok((StatusCode::CREATED, Json(StudyFile::from(row))))
}

#[utoipa::path(get, path = "/api/v1/studies/{id}/files/{file_id}", tag = "pets",
    params(("id" = Uuid, Path), ("file_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The file's bytes, as an attachment"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn download_file(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, file_id): PathIds<Uuid, Uuid>,
) -> Result<Response, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let study = visible_study(&user, &mut conn, id).await?;
    let file = db::studies::file(&mut conn, study.id, file_id)
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

#[utoipa::path(delete, path = "/api/v1/studies/{id}/files/{file_id}", tag = "pets",
    params(("id" = Uuid, Path), ("file_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Removes the file from the study (the stored bytes are kept).
async fn delete_file(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, file_id): PathIds<Uuid, Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let study = visible_study(&user, &mut conn, id).await?;
    if db::studies::delete_file(&mut conn, study.id, file_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("file"))
    }
}
