//! The visit report as a PDF: whose pet, which visit, who saw it, what they found and
//! did, and what comes next; the files attached are listed by name (they are read from
//! the API).

use db::reports::ReportSheet;
use domain::time::{local, local_long};

use crate::{DocumentError, layout::Layout};

/// The report's file name when downloaded or attached.
pub fn file_name(sheet: &ReportSheet) -> String {
    let pet: String = sheet
        .visit
        .pet
        .as_deref()
        .unwrap_or("mascota")
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-");
    let day = local(sheet.visit.start).format("%Y-%m-%d");
    format!("informe-{pet}-{day}.pdf").to_lowercase()
}

/// The report's PDF.
pub fn render(sheet: &ReportSheet) -> Result<Vec<u8>, DocumentError> {
    let visit = &sheet.visit;
    let report = &sheet.report;
    let mut doc = Layout::new()?;
    let pet = visit.pet.as_deref().unwrap_or("—");
    doc.header(
        "Informe de visita veterinaria",
        &format!("Visita {} · revisión {}", visit.visit_id, report.revision),
    );
    let kind = match (&sheet.species, &sheet.breed) {
        (Some(species), Some(breed)) => format!(" ({species}, {breed})"),
        (Some(species), None) => format!(" ({species})"),
        _ => String::new(),
    };
    doc.field("Paciente", &format!("{pet}{kind}"));
    if let Some(owner) = &sheet.owner_name {
        doc.field("Tutor/a", owner);
    }
    doc.field(
        "Veterinario/a",
        &format!("{} · Matrícula {}", visit.vet_name, sheet.vet_license),
    );
    if let Some(service) = &visit.service {
        doc.field("Servicio", service);
    }
    doc.field("Fecha de la visita", &local_long(visit.start));
    if let Some(weight) = report.weight() {
        let weight = weight.normalize().to_string().replace('.', ",");
        doc.field("Peso", &format!("{weight} kg"));
    }
    doc.gap();
    doc.heading("Hallazgos");
    doc.paragraph(&report.findings);
    doc.heading("Diagnóstico");
    doc.paragraph(&report.diagnosis);
    if let Some(treatment) = &report.treatment {
        doc.heading("Tratamiento");
        doc.paragraph(treatment);
    }
    if let Some(recommendations) = &report.recommendations {
        doc.heading("Recomendaciones");
        doc.paragraph(recommendations);
    }
    if let Some(next) = report.next_checkup_on {
        doc.heading("Próximo control");
        doc.paragraph(&next.format("%d/%m/%Y").to_string());
    }
    if !sheet.files.is_empty() {
        doc.heading("Adjuntos");
        for file in &sheet.files {
            doc.bullet(&file.file_name);
        }
    }
    doc.gap();
    let mut written = format!(
        "Informe presentado por {} el {}.",
        report.author_name,
        local_long(report.filed_at)
    );
    if report.revision > 1 {
        written.push_str(&format!(
            " Corregido el {} (revisión {}).",
            local_long(report.updated_at),
            report.revision
        ));
    }
    if report.locked_at.is_some() {
        written.push_str(" Cerrado por AMAR Mascotas: no admite más correcciones.");
    }
    doc.note(&written);
    doc.finish(
        &format!("Informe de la visita de {pet}"),
        &format!("AMAR Mascotas · Informe de {pet}"),
    )
}
