//! Sheets v4 values: get, update (PUT) and append, in A1 notation (`Visitas`,
//! `Visitas!A:A`, `Visitas!A7:L7`, `'Mi hoja'!B2`).

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Google, SHEETS_SCOPE, google_error};

/// A range: the tab, the first column and row (0-based), and the last column, if given.
#[derive(Debug, PartialEq, Eq)]
struct Range {
    tab: String,
    column: usize,
    row: Option<usize>,
    last_column: Option<usize>,
    last_row: Option<usize>,
}

/// `A` → 0, `L` → 11, `AA` → 26.
fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Some(
        letters
            .bytes()
            .fold(0, |n, b| n * 26 + usize::from(b - b'A' + 1))
            - 1,
    )
}

pub(crate) fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + u8::try_from(index % 26).unwrap_or(0));
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// A cell reference, `B7` or `B` → (column, row).
fn cell(reference: &str) -> Option<(usize, Option<usize>)> {
    let split = reference
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(reference.len());
    let (letters, digits) = reference.split_at(split);
    let column = column_index(letters)?;
    let row = if digits.is_empty() {
        None
    } else {
        Some(digits.parse::<usize>().ok()?.checked_sub(1)?)
    };
    Some((column, row))
}

fn parse_range(a1: &str) -> Option<Range> {
    let (tab, cells) = match a1.rsplit_once('!') {
        Some((tab, cells)) => (tab, Some(cells)),
        None => (a1, None),
    };
    let tab = tab
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(tab)
        .to_owned();
    let Some(cells) = cells else {
        return Some(Range {
            tab,
            column: 0,
            row: None,
            last_column: None,
            last_row: None,
        });
    };
    let (first, last) = match cells.split_once(':') {
        Some((first, last)) => (first, Some(last)),
        None => (cells, None),
    };
    let (column, row) = cell(first)?;
    let (last_column, last_row) = match last {
        Some(last) => {
            let (c, r) = cell(last)?;
            (Some(c), r)
        }
        None => (Some(column), row),
    };
    Some(Range {
        tab,
        column,
        row,
        last_column,
        last_row,
    })
}

fn unparsable(range: &str) -> Response {
    google_error(
        StatusCode::BAD_REQUEST,
        "badRequest",
        &format!("Unable to parse range: {range}"),
    )
}

/// The failure, authorization and spreadsheet checks every call makes; the tab's key.
async fn open(
    google: &Google,
    headers: &HeaderMap,
    spreadsheet: &str,
    range: &str,
) -> Result<(Range, (String, String)), Response> {
    google.admit(headers, SHEETS_SCOPE).await?;
    let inner = google.lock();
    if !inner.sheets.keys().any(|(s, _)| s == spreadsheet) {
        return Err(google_error(
            StatusCode::NOT_FOUND,
            "notFound",
            "Requested entity was not found.",
        ));
    }
    let parsed = parse_range(range).ok_or_else(|| unparsable(range))?;
    let key = (spreadsheet.to_owned(), parsed.tab.clone());
    if !inner.sheets.contains_key(&key) {
        return Err(unparsable(range));
    }
    Ok((parsed, key))
}

#[derive(Deserialize)]
pub(super) struct WriteOptions {
    #[serde(rename = "valueInputOption")]
    value_input_option: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ValueRange {
    values: Vec<Vec<Value>>,
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

fn check_input_option(options: &WriteOptions) -> Result<(), Response> {
    match options.value_input_option.as_deref() {
        Some("RAW" | "USER_ENTERED") => Ok(()),
        _ => Err(google_error(
            StatusCode::BAD_REQUEST,
            "badRequest",
            "'valueInputOption' is required but not specified",
        )),
    }
}

/// [`open`], and the checks of a write: the input option and the body.
async fn open_write(
    google: &Google,
    headers: &HeaderMap,
    spreadsheet: &str,
    range: &str,
    options: &WriteOptions,
    body: Result<Json<ValueRange>, axum::extract::rejection::JsonRejection>,
) -> Result<(Range, (String, String), ValueRange), Response> {
    let (parsed, key) = open(google, headers, spreadsheet, range).await?;
    check_input_option(options)?;
    let Ok(Json(body)) = body else {
        return Err(google_error(
            StatusCode::BAD_REQUEST,
            "badRequest",
            "Invalid JSON payload received.",
        ));
    };
    Ok((parsed, key, body))
}

pub(super) async fn read(
    State(google): State<Google>,
    Path((spreadsheet, range)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (parsed, key) = match open(&google, &headers, &spreadsheet, &range).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let rows = google.rows(&key.0, &key.1);
    let first_row = parsed.row.unwrap_or(0);
    let last_row = parsed.last_row.unwrap_or(usize::MAX);
    let values: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| *i >= first_row && *i <= last_row)
        .map(|(_, row)| {
            let last = parsed.last_column.unwrap_or(usize::MAX);
            row.iter()
                .enumerate()
                .filter(|(c, _)| *c >= parsed.column && *c <= last)
                .map(|(_, v)| v.clone())
                .collect()
        })
        .collect();
    let mut answer = json!({ "range": range, "majorDimension": "ROWS" });
    if values.iter().any(|r| !r.is_empty()) {
        answer["values"] = json!(values);
    }
    Json(answer).into_response()
}

/// Writes `values` from (`row`, `column`) on; the range written.
fn write(
    google: &Google,
    key: &(String, String),
    row: usize,
    column: usize,
    values: &[Vec<Value>],
) -> (String, usize, usize) {
    let mut inner = google.lock();
    let rows = inner.sheets.entry(key.clone()).or_default();
    let width = values.iter().map(Vec::len).max().unwrap_or(0);
    for (i, new) in values.iter().enumerate() {
        while rows.len() <= row + i {
            rows.push(Vec::new());
        }
        let target = &mut rows[row + i];
        while target.len() < column + new.len() {
            target.push(String::new());
        }
        for (c, value) in new.iter().enumerate() {
            target[column + c] = text(value);
        }
    }
    let range = format!(
        "{}!{}{}:{}{}",
        key.1,
        column_letters(column),
        row + 1,
        column_letters(column + width.max(1) - 1),
        row + values.len().max(1)
    );
    (range, values.len(), width)
}

pub(super) async fn update(
    State(google): State<Google>,
    Path((spreadsheet, range)): Path<(String, String)>,
    Query(options): Query<WriteOptions>,
    headers: HeaderMap,
    body: Result<Json<ValueRange>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let (parsed, key, body) =
        match open_write(&google, &headers, &spreadsheet, &range, &options, body).await {
            Ok(found) => found,
            Err(refused) => return refused,
        };
    let (updated, rows, columns) = write(
        &google,
        &key,
        parsed.row.unwrap_or(0),
        parsed.column,
        &body.values,
    );
    Json(json!({
        "spreadsheetId": spreadsheet,
        "updatedRange": updated,
        "updatedRows": rows,
        "updatedColumns": columns,
        "updatedCells": rows * columns,
    }))
    .into_response()
}

pub(super) async fn append(
    State(google): State<Google>,
    Path((spreadsheet, range)): Path<(String, String)>,
    Query(options): Query<WriteOptions>,
    headers: HeaderMap,
    body: Result<Json<ValueRange>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(range) = range.strip_suffix(":append") else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    let (parsed, key, body) =
        match open_write(&google, &headers, &spreadsheet, range, &options, body).await {
            Ok(found) => found,
            Err(refused) => return refused,
        };
    // After the last row that has anything in it.
    let next = google
        .rows(&key.0, &key.1)
        .iter()
        .rposition(|r| r.iter().any(|c| !c.is_empty()))
        .map_or(0, |last| last + 1);
    let (updated, rows, columns) = write(&google, &key, next, parsed.column, &body.values);
    Json(json!({
        "spreadsheetId": spreadsheet,
        "tableRange": format!("{}!A1:{}{}", key.1, column_letters(columns.max(1) - 1), next.max(1)),
        "updates": {
            "spreadsheetId": spreadsheet,
            "updatedRange": updated,
            "updatedRows": rows,
            "updatedColumns": columns,
            "updatedCells": rows * columns,
        }
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_ranges_parse_as_sheets_reads_them() {
        assert_eq!(
            parse_range("Visitas!A7:L7").map(|r| (r.tab, r.column, r.row, r.last_column)),
            Some(("Visitas".into(), 0, Some(6), Some(11)))
        );
        assert_eq!(
            parse_range("Visitas!A:A").map(|r| (r.row, r.last_column)),
            Some((None, Some(0)))
        );
        assert_eq!(
            parse_range("'Mi hoja'!B2").map(|r| (r.tab, r.column, r.row)),
            Some(("Mi hoja".into(), 1, Some(1)))
        );
        assert_eq!(parse_range("Visitas!7A"), None);
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(11), "L");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_index("AA"), Some(26));
    }
}
