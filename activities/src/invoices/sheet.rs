//! The printable receipt of an authorized row (what the PDF and the QR show).

use super::*;

/// The printable receipt of an authorized row.
pub fn sheet(
    settings: &AfipSettings,
    row: &InvoiceRow,
    original: Option<&InvoiceRow>,
) -> Option<documents::invoice::InvoiceSheet> {
    let number = row.number? as u64;
    let date = row.receipt_date?;
    let cae = row.cae.clone()?;
    let cae_due = row.cae_due?;
    let receipt_type = ReceiptType(row.receipt_type);
    let qr = QrData::of(&Authorized {
        issuer_cuit: row.issuer_cuit as u64,
        point_of_sale: row.point_of_sale as u32,
        receipt_type,
        number,
        date,
        total: row.total,
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        cae: cae.clone(),
    });
    let cancels = original.and_then(|o| {
        let kind = ReceiptType(o.receipt_type);
        Some(format!(
            "{} {} {}",
            kind.name(),
            kind.letter(),
            domain::invoices::number_label(o.point_of_sale as u32, o.number? as u64)
        ))
    });
    Some(documents::invoice::InvoiceSheet {
        issuer: documents::invoice::Issuer {
            name: settings.business_name.clone(),
            cuit: row.issuer_cuit as u64,
            address: settings.address.clone(),
            condition: settings.condition.label().to_owned(),
            gross_income: settings.gross_income.clone(),
            activity_start: settings.activity_start,
        },
        receipt_type,
        point_of_sale: row.point_of_sale as u32,
        number,
        date,
        service_date: row.service_date,
        buyer_name: row.buyer_name.clone(),
        doc_type: row.doc_type,
        doc_number: row.doc_number as u64,
        buyer_condition: vat_condition_name(row.buyer_vat_condition).to_owned(),
        description: row.description.clone(),
        net: row.net,
        vat: row.vat,
        total: row.total,
        cae,
        cae_due,
        qr_url: qr.url(&settings.qr_base),
        cancels,
    })
}

/// AFIP's names of the buyer conditions (the `vat_conditions` table's).
pub fn vat_condition_name(id: i16) -> &'static str {
    match id {
        1 => "IVA Responsable Inscripto",
        4 => "IVA Sujeto Exento",
        6 => "Responsable Monotributo",
        7 => "Sujeto No Categorizado",
        13 => "Monotributista Social",
        15 => "IVA No Alcanzado",
        16 => "Monotributo Trabajador Independiente Promovido",
        _ => "Consumidor Final",
    }
}
