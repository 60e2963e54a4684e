-- AFIP's own codes, which invoices must carry: document types (DocTipo) and the buyer's
-- VAT condition (CondicionIVAReceptorId). Fixed by AFIP, so they ship with the schema.
INSERT INTO document_types (id, name) VALUES
    (80, 'CUIT'),
    (86, 'CUIL'),
    (96, 'DNI'),
    (99, 'Sin identificar / consumidor final');

INSERT INTO vat_conditions (id, name) VALUES
    (1, 'IVA Responsable Inscripto'),
    (4, 'IVA Sujeto Exento'),
    (5, 'Consumidor Final'),
    (6, 'Responsable Monotributo'),
    (7, 'Sujeto No Categorizado'),
    (8, 'Proveedor del Exterior'),
    (9, 'Cliente del Exterior'),
    (10, 'IVA Liberado - Ley N° 19.640'),
    (13, 'Monotributista Social'),
    (15, 'IVA No Alcanzado'),
    (16, 'Monotributo Trabajador Independiente Promovido');
