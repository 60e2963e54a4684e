//! Files people upload (studies' files, report attachments) and download: one part
//! named `file` in a `multipart/form-data` body, at most the configured size, and PDF,
//! JPEG, PNG, WebP or DICOM recognised by its content whatever name or type the client
//! declared; downloads go out as attachments with the exact file name and `nosniff`.

use axum::{
    body::Body,
    extract::{
        Multipart,
        multipart::{Field, MultipartRejection},
    },
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use domain::StudyFileKind;

use crate::{AppState, error::ApiError};

/// The one file of an upload form: its declared name, bytes and recognised kind.
pub async fn read_file(
    form: Result<Multipart, MultipartRejection>,
    max: usize,
) -> Result<(Option<String>, Bytes, StudyFileKind), ApiError> {
    let mut form = form.map_err(|e| ApiError::BadRequest {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        detail: format!("expected multipart/form-data with a part named `file`: {e}"),
    })?;
    let mut upload = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") if upload.is_none() => {
                let name = field.file_name().map(str::to_owned);
                upload = Some((name, read_limited(field, max).await?));
            }
            Some("file") => return Err(ApiError::invalid("file", "send one file per request")),
            other => {
                return Err(ApiError::invalid(
                    other.unwrap_or("body"),
                    "unknown part; send one part named `file`",
                ));
            }
        }
    }
    let (name, bytes) = upload.ok_or_else(|| ApiError::invalid("file", "missing"))?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("file", "is empty"));
    }
    let kind = StudyFileKind::sniff(&bytes).ok_or_else(|| ApiError::BadRequest {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        detail: "file: only PDF, JPEG, PNG, WebP or DICOM files are accepted".into(),
    })?;
    Ok((name, bytes, kind))
}

async fn read_limited(mut field: Field<'_>, max: usize) -> Result<Bytes, ApiError> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if bytes.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

fn too_large(max: usize) -> ApiError {
    ApiError::BadRequest {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        detail: format!("file: larger than the limit of {max} bytes"),
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BadRequest {
            status,
            detail: "file: larger than the upload limit".into(),
        }
    } else {
        ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            detail: format!("malformed multipart body: {}", e.body_text()),
        }
    }
}

pub fn storage_unavailable(e: crate::storage::StorageError) -> ApiError {
    tracing::error!(error = %e, "object storage failed");
    ApiError::Unavailable {
        status: StatusCode::SERVICE_UNAVAILABLE,
        detail: "file storage is unavailable; try again".into(),
    }
}

/// Stores `bytes` at `key`, then runs `record` (the row that points at them); when the
/// record fails the bytes are removed again, so no stored file is left that nothing
/// lists, and a listed file can always be downloaded.
pub async fn store_then_record<T>(
    state: &AppState,
    key: &str,
    bytes: Bytes,
    record: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    state
        .storage
        .put(key, bytes)
        .await
        .map_err(storage_unavailable)?;
    let recorded = record.await;
    if recorded.is_err()
        && let Err(cleanup) = state.storage.delete(key).await
    {
        tracing::warn!(%key, error = %cleanup, "orphaned upload left in storage");
    }
    recorded
}

/// The stored file at `key`, streamed as an attachment named `name`.
pub async fn download(
    state: &AppState,
    key: &str,
    content_type: &str,
    size: i64,
    name: &str,
) -> Result<Response, ApiError> {
    let stream = state.storage.get(key).await.map_err(|e| {
        if e.is_not_found() {
            tracing::error!(%key, "a listed file is missing from storage");
        }
        storage_unavailable(e)
    })?;
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).map_err(|e| ApiError::Internal(e.into()))?,
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    attachment(headers, name)?;
    Ok(response)
}

/// Marks a response as a download named `name`: never sniffed, kept private.
pub fn attachment(headers: &mut axum::http::HeaderMap, name: &str) -> Result<(), ApiError> {
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&content_disposition(name))
            .map_err(|e| ApiError::Internal(e.into()))?,
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(())
}

/// `attachment` with an ASCII `filename` and the exact UTF-8 `filename*` (RFC 6266).
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    pub fn content_disposition_keeps_the_exact_name_and_an_ascii_fallback() {
        assert_eq!(
            content_disposition("rx tórax.png"),
            "attachment; filename=\"rx t_rax.png\"; filename*=UTF-8''rx%20t%C3%B3rax.png"
        );
    }
}
