//! Issuing one receipt: its taken number looked up first, then AFIP's last + 1 taken
//! and sent; 10016 reads the last number again; a lost answer keeps the number for the
//! next attempt's lookup.

use super::*;

impl InvoiceActivities {
    pub(super) async fn issue(&self, invoice: InvoiceId) -> Result<Issued, ActivityError> {
        let Some(afip) = &self.afip else {
            return Err(refused("invoicing is off"));
        };
        let row = {
            let mut conn = db::conn(&self.pool).await?;
            db::invoices::get(&mut conn, invoice).await?
        };
        let Some(row) = row else {
            return Err(refused(format!("no receipt {invoice}")));
        };
        if row.state != "pending" {
            return Ok(Issued::Settled { state: row.state });
        }
        let original = match row.cancels {
            None => None,
            Some(id) => {
                let mut conn = db::conn(&self.pool).await?;
                let original = db::invoices::get(&mut conn, InvoiceId::from_uuid(id)).await?;
                match original {
                    Some(o) if o.state == "authorized" => Some(o),
                    Some(o) if o.state == "pending" => {
                        return Err(again(
                            "the invoice this credit note cancels is not authorized yet",
                        ));
                    }
                    _ => {
                        let why =
                            "the invoice this credit note cancels was never authorized".to_owned();
                        db::invoices::reject(
                            &mut conn,
                            invoice,
                            &messages_json(std::slice::from_ref(&why)),
                        )
                        .await?;
                        return Ok(Issued::Rejected {
                            messages: vec![why],
                        });
                    }
                }
            }
        };
        let ticket = self.ticket(afip).await?;
        let (pv, kind) = (row.point_of_sale as u32, row.receipt_type);
        let wsfe = &afip.wsfe;
        // A number taken before: what became of it?
        if let Some(number) = row.number {
            match wsfe.lookup(&ticket, pv, kind, number as u64).await {
                Ok(found)
                    if found.total == row.total
                        && found.doc_type == row.doc_type
                        && found.doc_number == row.doc_number as u64
                        && Some(found.date) == row.receipt_date =>
                {
                    let note = vec![format!(
                        "authorized as {} (CAE {}), found by FECompConsultar after its answer was lost",
                        domain::invoices::number_label(pv, number as u64),
                        found.cae
                    )];
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::authorize(
                        &mut conn,
                        invoice,
                        &found.cae,
                        found.cae_due,
                        &messages_json(&note),
                    )
                    .await?;
                    tracing::info!(%invoice, number, "receipt recovered by FECompConsultar");
                    return Ok(Issued::Authorized {
                        number: number as u64,
                        cae: found.cae,
                        recovered: true,
                    });
                }
                Ok(other) => {
                    let why = vec![format!(
                        "number {number} was issued to another receipt (total {}, document {} {}): taking the next",
                        other.total, other.doc_type, other.doc_number
                    )];
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::free_number(&mut conn, invoice, &messages_json(&why)).await?;
                }
                Err(WsfeError::NotFound) => {
                    let mut conn = db::conn(&self.pool).await?;
                    let why = vec![format!(
                        "number {number} was not issued (602): sending again"
                    )];
                    db::invoices::free_number(&mut conn, invoice, &messages_json(&why)).await?;
                }
                Err(WsfeError::Ticket(m)) => {
                    self.forget_ticket(afip).await?;
                    return Err(again(format!("AFIP refused the ticket: {m:?}")));
                }
                Err(e) => {
                    return Err(again(format!(
                        "the receipt's number {number} could not be looked up: {e}"
                    )));
                }
            }
        }
        for _ in 0..3 {
            let last = match wsfe.last_authorized(&ticket, pv, kind).await {
                Ok(last) => last,
                Err(WsfeError::Ticket(m)) => {
                    self.forget_ticket(afip).await?;
                    return Err(again(format!("AFIP refused the ticket: {m:?}")));
                }
                Err(e) => return Err(again(e.to_string())),
            };
            let number = last + 1;
            let date = today();
            {
                let mut conn = db::conn(&self.pool).await?;
                if !db::invoices::take_number(&mut conn, invoice, number, date).await? {
                    return Ok(Issued::Settled {
                        state: "settled".into(),
                    });
                }
            }
            let request =
                receipt_request(&row, original.as_ref(), number, date, afip.settings.cuit);
            match wsfe.authorize(&ticket, &request).await {
                Ok(Authorization::Approved {
                    cae,
                    cae_due,
                    observations,
                }) => {
                    let said: Vec<String> = observations.iter().map(ToString::to_string).collect();
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::authorize(
                        &mut conn,
                        invoice,
                        &cae,
                        cae_due,
                        &messages_json(&said),
                    )
                    .await?;
                    return Ok(Issued::Authorized {
                        number,
                        cae,
                        recovered: false,
                    });
                }
                Ok(Authorization::Rejected { messages }) => {
                    let said: Vec<String> = messages.iter().map(ToString::to_string).collect();
                    let mut conn = db::conn(&self.pool).await?;
                    if Rejection::of(&messages) == Rejection::OutOfSequence {
                        // Someone else issued this number (or a later date): read the
                        // last number again.
                        db::invoices::free_number(&mut conn, invoice, &messages_json(&said))
                            .await?;
                        tracing::warn!(%invoice, number, ?said, "10016: reading the last number again");
                        continue;
                    }
                    db::invoices::reject(&mut conn, invoice, &messages_json(&said)).await?;
                    return Ok(Issued::Rejected { messages: said });
                }
                Err(WsfeError::Ticket(m)) => {
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::free_number(&mut conn, invoice, &serde_json::json!([])).await?;
                    drop(conn);
                    self.forget_ticket(afip).await?;
                    return Err(again(format!("AFIP refused the ticket: {m:?}")));
                }
                Err(WsfeError::Unreachable(why)) => {
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::free_number(&mut conn, invoice, &serde_json::json!([])).await?;
                    return Err(again(format!("AFIP could not be reached: {why}")));
                }
                Err(WsfeError::Refused(m)) => {
                    let said: Vec<String> = m.iter().map(ToString::to_string).collect();
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::reject(&mut conn, invoice, &messages_json(&said)).await?;
                    return Ok(Issued::Rejected { messages: said });
                }
                // Unanswered or unreadable: the number stays taken; the next attempt
                // looks it up before anything else.
                Err(e) => {
                    return Err(again(format!(
                        "AFIP's answer for number {number} was lost: {e}"
                    )));
                }
            }
        }
        Err(again(
            "AFIP kept answering 10016 (numbers taken elsewhere); trying again later",
        ))
    }
}

/// `FECAESolicitar`'s receipt for `row` with `number`, dated `date`.
fn receipt_request(
    row: &InvoiceRow,
    original: Option<&InvoiceRow>,
    number: u64,
    date: NaiveDate,
    cuit: u64,
) -> ReceiptRequest {
    let kind = ReceiptType(row.receipt_type);
    ReceiptRequest {
        point_of_sale: row.point_of_sale as u32,
        receipt_type: row.receipt_type,
        number,
        date,
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        total: row.total,
        net: row.net,
        vat: row.vat,
        service_from: row.service_date,
        service_to: row.service_date,
        payment_due: date.max(row.service_date),
        vat_condition: row.buyer_vat_condition,
        associated: original.and_then(|o| {
            Some(Associated {
                receipt_type: o.receipt_type,
                point_of_sale: o.point_of_sale as u32,
                number: o.number? as u64,
                cuit,
                date: o.receipt_date?,
            })
        }),
        vat_lines: if kind.itemizes_vat() {
            vec![VatLine {
                id: VAT_21_ID,
                base: row.net,
                amount: row.vat,
            }]
        } else {
            Vec::new()
        },
    }
}
