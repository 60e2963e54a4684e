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
        // A number taken this recently may still be on its way at AFIP (an attempt cut
        // off mid-call): its absence proves nothing yet.
        let settle = chrono::Duration::from_std(afip.settings.timeout * 2).unwrap_or_default()
            + chrono::Duration::seconds(30);
        if let Some(number) = row.number.map(|n| n as u64) {
            match wsfe.lookup(&ticket, pv, kind, number).await {
                Ok(found) if same_sale(&row, &found) => {
                    return self.adopt(invoice, number, &found).await;
                }
                Ok(_) => {
                    tracing::warn!(%invoice, number, "the number taken was issued to another receipt");
                    let why =
                        format!("number {number} was issued to another receipt: taking the next");
                    self.free(invoice, number, &why).await?;
                }
                Err(WsfeError::NotFound) if Utc::now() - row.updated_at < settle => {
                    return Err(again(format!(
                        "AFIP has no receipt {number} yet, and its answer may still be on the way: looking again shortly"
                    )));
                }
                Err(WsfeError::NotFound) => {
                    let why = format!("number {number} was not issued (602): sending again");
                    self.free(invoice, number, &why).await?;
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
            // Sent before (and its number freed): the last receipt may be ours, if that
            // answer reached AFIP after all.
            if row.attempts > 0 && last > 0 {
                match wsfe.lookup(&ticket, pv, kind, last).await {
                    Ok(found) if same_sale(&row, &found) => {
                        self.retake(invoice, last, found.date).await?;
                        return self.adopt(invoice, last, &found).await;
                    }
                    Ok(_) | Err(WsfeError::NotFound) => {}
                    Err(e) => {
                        return Err(again(format!(
                            "the last receipt could not be looked up: {e}"
                        )));
                    }
                }
            }
            let number = last + 1;
            let date = today();
            {
                let mut conn = db::conn(&self.pool).await?;
                if !db::invoices::take_number(&mut conn, invoice, number, date).await? {
                    return Err(again(
                        "the receipt changed meanwhile (another attempt holds a number)",
                    ));
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
                    if !db::invoices::authorize(
                        &mut conn,
                        invoice,
                        number,
                        &cae,
                        cae_due,
                        &messages_json(&said),
                    )
                    .await?
                    {
                        return Err(again("the receipt changed while AFIP authorized it"));
                    }
                    return Ok(Issued::Authorized {
                        number,
                        cae,
                        recovered: false,
                    });
                }
                Ok(Authorization::Rejected { messages }) => {
                    let said: Vec<String> = messages.iter().map(ToString::to_string).collect();
                    if Rejection::of(&messages) == Rejection::OutOfSequence {
                        // This number is taken, or the date is before the last one's:
                        // it may be ours (an earlier answer that arrived late).
                        if let Ok(found) = wsfe.lookup(&ticket, pv, kind, number).await
                            && same_sale(&row, &found)
                        {
                            return self.adopt(invoice, number, &found).await;
                        }
                        tracing::warn!(%invoice, number, ?said, "10016: reading the last number again");
                        self.free(invoice, number, &said.join("; ")).await?;
                        continue;
                    }
                    let mut conn = db::conn(&self.pool).await?;
                    db::invoices::reject(&mut conn, invoice, &messages_json(&said)).await?;
                    return Ok(Issued::Rejected { messages: said });
                }
                Err(WsfeError::Ticket(m)) => {
                    // Refused before the receipt was looked at.
                    self.free(invoice, number, "AFIP refused the ticket")
                        .await?;
                    self.forget_ticket(afip).await?;
                    return Err(again(format!("AFIP refused the ticket: {m:?}")));
                }
                Err(WsfeError::Unreachable(why)) => {
                    self.free(invoice, number, "AFIP could not be reached")
                        .await?;
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

    /// Records the receipt AFIP has for `number` as this one's.
    async fn adopt(
        &self,
        invoice: InvoiceId,
        number: u64,
        found: &integrations::afip::wsfe::Issued,
    ) -> Result<Issued, ActivityError> {
        let pv = found.point_of_sale;
        let note = vec![format!(
            "authorized as {} (CAE {}), found by FECompConsultar after its answer was lost",
            domain::invoices::number_label(pv, number),
            found.cae
        )];
        let mut conn = db::conn(&self.pool).await?;
        if !db::invoices::authorize(
            &mut conn,
            invoice,
            number,
            &found.cae,
            found.cae_due,
            &messages_json(&note),
        )
        .await?
        {
            return Err(again("the receipt changed while its number was looked up"));
        }
        tracing::info!(%invoice, number, "receipt recovered by FECompConsultar");
        Ok(Issued::Authorized {
            number,
            cae: found.cae.clone(),
            recovered: true,
        })
    }

    /// Frees the receipt's `number` (AFIP did not issue it to this sale).
    async fn free(&self, invoice: InvoiceId, number: u64, why: &str) -> Result<(), ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        if !db::invoices::free_number(
            &mut conn,
            invoice,
            number,
            &messages_json(&[why.to_owned()]),
        )
        .await?
        {
            return Err(again("the receipt changed meanwhile"));
        }
        Ok(())
    }

    /// Takes `number` again for a receipt found issued under it.
    async fn retake(
        &self,
        invoice: InvoiceId,
        number: u64,
        date: NaiveDate,
    ) -> Result<(), ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        if !db::invoices::take_number(&mut conn, invoice, number, date).await? {
            return Err(again("the receipt changed meanwhile"));
        }
        Ok(())
    }
}

/// Whether the receipt AFIP has is this row's sale: the same amounts, buyer, service
/// day and (when the row still has it) receipt date.
fn same_sale(row: &InvoiceRow, found: &integrations::afip::wsfe::Issued) -> bool {
    found.total == row.total
        && found.net == row.net
        && found.doc_type == row.doc_type
        && found.doc_number == row.doc_number as u64
        && found.service_from.is_none_or(|d| d == row.service_date)
        && row.receipt_date.is_none_or(|d| d == found.date)
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
