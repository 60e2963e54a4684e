DELETE FROM vat_conditions WHERE id IN (1, 4, 5, 6, 7, 8, 9, 10, 13, 15, 16);
DELETE FROM document_types WHERE id IN (80, 86, 96, 99);
