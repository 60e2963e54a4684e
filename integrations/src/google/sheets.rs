//! Sheets v4 values: read a range, append a row once, update it where it landed.

use serde_json::json;

use super::{GoogleClient, GoogleError, encode};

impl GoogleClient {
    fn values_url(&self, spreadsheet: &str, range: &str, suffix: &str) -> String {
        format!(
            "{}/spreadsheets/{}/values/{}{suffix}",
            self.settings.sheets_base.trim_end_matches('/'),
            encode(spreadsheet),
            encode(range),
        )
    }
}

/// What AMAR needs of a spreadsheet: read a range, append a row once, rewrite it where it
/// landed. Google Sheets is the one in use.
pub trait Sheets: Send + Sync {
    /// The cells of `range` (`Visitas!A:A`), rows of strings.
    fn read_range(
        &self,
        spreadsheet: &str,
        range: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Vec<String>>, GoogleError>> + Send;
    /// Appends one row after the table found at `range` (a tab, or `'Visitas'!A1`); the
    /// range it landed on (`Visitas!A7:L7`). Tried once: an unanswered append may have
    /// written the row.
    fn append_row(
        &self,
        spreadsheet: &str,
        range: &str,
        row: &[String],
    ) -> impl std::future::Future<Output = Result<String, GoogleError>> + Send;
    /// Writes `row` over `range` (`Visitas!A7:L7`).
    fn update_row(
        &self,
        spreadsheet: &str,
        range: &str,
        row: &[String],
    ) -> impl std::future::Future<Output = Result<(), GoogleError>> + Send;
}

impl Sheets for GoogleClient {
    async fn read_range(
        &self,
        spreadsheet: &str,
        range: &str,
    ) -> Result<Vec<Vec<String>>, GoogleError> {
        let answer = self
            .api(
                reqwest::Method::GET,
                &self.values_url(spreadsheet, range, ""),
                None,
                true,
            )
            .await?;
        Ok(answer["values"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        row.as_array()
                            .map(|cells| {
                                cells
                                    .iter()
                                    .map(|c| {
                                        c.as_str().map_or_else(|| c.to_string(), str::to_owned)
                                    })
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn append_row(
        &self,
        spreadsheet: &str,
        range: &str,
        row: &[String],
    ) -> Result<String, GoogleError> {
        let body = json!({ "range": range, "majorDimension": "ROWS", "values": [row] });
        let url = self.values_url(
            spreadsheet,
            range,
            ":append?valueInputOption=RAW&insertDataOption=INSERT_ROWS",
        );
        let answer = self
            .api(reqwest::Method::POST, &url, Some(&body), false)
            .await?;
        answer["updates"]["updatedRange"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| GoogleError::Uncertain {
                last: format!("an append answer without updatedRange: {answer}"),
            })
    }

    async fn update_row(
        &self,
        spreadsheet: &str,
        range: &str,
        row: &[String],
    ) -> Result<(), GoogleError> {
        let body = json!({ "range": range, "majorDimension": "ROWS", "values": [row] });
        let url = self.values_url(spreadsheet, range, "?valueInputOption=RAW");
        self.api(reqwest::Method::PUT, &url, Some(&body), true)
            .await
            .map(drop)
    }
}
