-- Demo data for `make run`: reference data of Buenos Aires and a few accounts. Fixed ids
-- and ON CONFLICT DO NOTHING make it safe to load any number of times. {*_HASH} are
-- argon2id hashes filled in by `api seed-demo`.

INSERT INTO species (id, name) VALUES
    ('00000000-0000-4000-8000-000000000101', 'Perro'),
    ('00000000-0000-4000-8000-000000000102', 'Gato')
ON CONFLICT DO NOTHING;

INSERT INTO breeds (id, species_id, name) VALUES
    ('00000000-0000-4000-8000-000000000111', '00000000-0000-4000-8000-000000000101', 'Mestizo'),
    ('00000000-0000-4000-8000-000000000112', '00000000-0000-4000-8000-000000000101', 'Caniche'),
    ('00000000-0000-4000-8000-000000000113', '00000000-0000-4000-8000-000000000101', 'Labrador Retriever'),
    ('00000000-0000-4000-8000-000000000114', '00000000-0000-4000-8000-000000000101', 'Ovejero Alemán'),
    ('00000000-0000-4000-8000-000000000115', '00000000-0000-4000-8000-000000000101', 'Dogo Argentino'),
    ('00000000-0000-4000-8000-000000000121', '00000000-0000-4000-8000-000000000102', 'Mestizo'),
    ('00000000-0000-4000-8000-000000000122', '00000000-0000-4000-8000-000000000102', 'Siamés'),
    ('00000000-0000-4000-8000-000000000123', '00000000-0000-4000-8000-000000000102', 'Persa')
ON CONFLICT DO NOTHING;

INSERT INTO specialties (id, name) VALUES
    ('00000000-0000-4000-8000-000000000201', 'Clínica general'),
    ('00000000-0000-4000-8000-000000000202', 'Vacunación'),
    ('00000000-0000-4000-8000-000000000203', 'Laboratorio')
ON CONFLICT DO NOTHING;

INSERT INTO study_types (id, name) VALUES
    ('00000000-0000-4000-8000-000000000251', 'Análisis de sangre'),
    ('00000000-0000-4000-8000-000000000252', 'Ecografía'),
    ('00000000-0000-4000-8000-000000000253', 'Radiografía')
ON CONFLICT DO NOTHING;

INSERT INTO vaccines (id, species_id, name, interval_days) VALUES
    ('00000000-0000-4000-8000-000000000301', NULL, 'Antirrábica', 365),
    ('00000000-0000-4000-8000-000000000302', '00000000-0000-4000-8000-000000000101', 'Séxtuple canina', 365),
    ('00000000-0000-4000-8000-000000000303', '00000000-0000-4000-8000-000000000102', 'Triple felina', 365)
ON CONFLICT DO NOTHING;

INSERT INTO services (id, code, name, description, duration_minutes, specialty_id) VALUES
    ('00000000-0000-4000-8000-000000000401', 'CONSULTA', 'Consulta clínica a domicilio', 'Revisión general del animal en casa', 45, '00000000-0000-4000-8000-000000000201'),
    ('00000000-0000-4000-8000-000000000402', 'VACUNA', 'Vacunación a domicilio', 'Aplicación de vacunas del calendario', 30, '00000000-0000-4000-8000-000000000202'),
    ('00000000-0000-4000-8000-000000000403', 'SANGRE', 'Extracción de sangre', 'Toma de muestra para laboratorio', 30, '00000000-0000-4000-8000-000000000203')
ON CONFLICT DO NOTHING;

-- Neighborhoods of the City of Buenos Aires, simplified to a few vertices each; the
-- coefficient grows with the distance from the base.
INSERT INTO neighborhoods (id, name, area, distance_coefficient) VALUES
    ('00000000-0000-4000-8000-000000000501', 'Palermo', ST_Multi(ST_GeomFromText('POLYGON((-58.4440 -34.5930, -58.4100 -34.5930, -58.3980 -34.5780, -58.4110 -34.5600, -58.4320 -34.5640, -58.4440 -34.5800, -58.4440 -34.5930))', 4326))::geography, 1.000),
    ('00000000-0000-4000-8000-000000000502', 'Recoleta', ST_Multi(ST_GeomFromText('POLYGON((-58.4100 -34.5930, -58.3880 -34.6030, -58.3780 -34.5940, -58.3850 -34.5800, -58.3980 -34.5780, -58.4100 -34.5930))', 4326))::geography, 1.050),
    ('00000000-0000-4000-8000-000000000503', 'Belgrano', ST_Multi(ST_GeomFromText('POLYGON((-58.4700 -34.5650, -58.4320 -34.5640, -58.4110 -34.5600, -58.4400 -34.5430, -58.4650 -34.5480, -58.4700 -34.5650))', 4326))::geography, 1.100),
    ('00000000-0000-4000-8000-000000000504', 'Núñez', ST_Multi(ST_GeomFromText('POLYGON((-58.4650 -34.5480, -58.4400 -34.5430, -58.4550 -34.5300, -58.4750 -34.5350, -58.4650 -34.5480))', 4326))::geography, 1.200),
    ('00000000-0000-4000-8000-000000000505', 'Villa Crespo', ST_Multi(ST_GeomFromText('POLYGON((-58.4550 -34.6050, -58.4300 -34.6050, -58.4230 -34.5980, -58.4440 -34.5930, -58.4550 -34.5950, -58.4550 -34.6050))', 4326))::geography, 1.100),
    ('00000000-0000-4000-8000-000000000506', 'Almagro', ST_Multi(ST_GeomFromText('POLYGON((-58.4300 -34.6050, -58.4050 -34.6150, -58.4000 -34.6050, -58.4100 -34.5930, -58.4230 -34.5980, -58.4300 -34.6050))', 4326))::geography, 1.150),
    ('00000000-0000-4000-8000-000000000507', 'Caballito', ST_Multi(ST_GeomFromText('POLYGON((-58.4600 -34.6250, -58.4300 -34.6250, -58.4300 -34.6050, -58.4550 -34.6050, -58.4600 -34.6150, -58.4600 -34.6250))', 4326))::geography, 1.250)
ON CONFLICT DO NOTHING;

-- Accounts.
INSERT INTO users (id, email, password_hash, full_name, is_staff) VALUES
    ('00000000-0000-4000-8000-000000000601', 'staff@demo.amarmascotas.ar', '{STAFF_HASH}', 'Sofía Staff', true),
    ('00000000-0000-4000-8000-000000000602', 'ana@demo.amarmascotas.ar', '{OWNER_HASH}', 'Ana Pérez', false),
    ('00000000-0000-4000-8000-000000000603', 'vet.martin@demo.amarmascotas.ar', '{VET_HASH}', 'Martín Gómez', false),
    ('00000000-0000-4000-8000-000000000604', 'vet.lucia@demo.amarmascotas.ar', '{VET_HASH}', 'Lucía Fernández', false)
ON CONFLICT DO NOTHING;

-- The demo owner's WhatsApp number counts as verified, so she can book at once.
INSERT INTO pet_owners (id, user_id, full_name, email, phone, document_type_id, document_number, vat_condition_id, phone_verified_at) VALUES
    ('00000000-0000-4000-8000-000000000701', '00000000-0000-4000-8000-000000000602', 'Ana Pérez', 'ana@demo.amarmascotas.ar', '+5491155550001', 96, '30123456', 5, now())
ON CONFLICT DO NOTHING;
-- A demo database from before phone verification: Ana's demo number counts as verified.
UPDATE pet_owners SET phone_verified_at = now()
WHERE id = '00000000-0000-4000-8000-000000000701' AND phone = '+5491155550001'
  AND phone_verified_at IS NULL;

INSERT INTO owner_addresses (id, owner_id, label, street, details, location) VALUES
    ('00000000-0000-4000-8000-000000000711', '00000000-0000-4000-8000-000000000701', 'Casa', 'Av. Santa Fe 3800', '4° B', ST_SetSRID(ST_MakePoint(-58.4180, -34.5850), 4326)::geography)
ON CONFLICT DO NOTHING;

INSERT INTO pets (id, owner_id, name, species_id, breed_id, sex, neutered, birth_date) VALUES
    ('00000000-0000-4000-8000-000000000721', '00000000-0000-4000-8000-000000000701', 'Luna', '00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000113', 'female', true, '2020-03-14'),
    ('00000000-0000-4000-8000-000000000722', '00000000-0000-4000-8000-000000000701', 'Michi', '00000000-0000-4000-8000-000000000102', '00000000-0000-4000-8000-000000000121', 'male', true, '2022-08-01')
ON CONFLICT DO NOTHING;

INSERT INTO veterinarians (id, user_id, full_name, license_number, cuit, phone) VALUES
    ('00000000-0000-4000-8000-000000000801', '00000000-0000-4000-8000-000000000603', 'Martín Gómez', 'MP 10234', '20123456786', '+5491155550101'),
    ('00000000-0000-4000-8000-000000000802', '00000000-0000-4000-8000-000000000604', 'Lucía Fernández', 'MP 11877', '33693450239', '+5491155550102')
ON CONFLICT DO NOTHING;

INSERT INTO vet_specialties (vet_id, specialty_id) VALUES
    ('00000000-0000-4000-8000-000000000801', '00000000-0000-4000-8000-000000000201'),
    ('00000000-0000-4000-8000-000000000801', '00000000-0000-4000-8000-000000000202'),
    ('00000000-0000-4000-8000-000000000802', '00000000-0000-4000-8000-000000000201'),
    ('00000000-0000-4000-8000-000000000802', '00000000-0000-4000-8000-000000000203')
ON CONFLICT DO NOTHING;

-- Martín covers Palermo and Recoleta, Lucía Belgrano and Núñez; both work weekdays 9-18.
INSERT INTO vet_coverage_areas (id, vet_id, name, area) VALUES
    ('00000000-0000-4000-8000-000000000811', '00000000-0000-4000-8000-000000000801', 'Palermo y Recoleta', ST_GeomFromText('POLYGON((-58.4450 -34.6040, -58.3770 -34.6040, -58.3770 -34.5590, -58.4450 -34.5590, -58.4450 -34.6040))', 4326)::geography),
    ('00000000-0000-4000-8000-000000000812', '00000000-0000-4000-8000-000000000802', 'Belgrano y Núñez', ST_GeomFromText('POLYGON((-58.4760 -34.5660, -58.4100 -34.5660, -58.4100 -34.5290, -58.4760 -34.5290, -58.4760 -34.5660))', 4326)::geography)
ON CONFLICT DO NOTHING;

-- Martín is on call every day at any hour (so `make walkthrough` works whenever it is
-- run); Lucía works weekdays 9 to 18.
INSERT INTO vet_availability (id, vet_id, weekday, starts_at, ends_at)
SELECT ('00000000-0000-4000-8000-0000000009' || v.n || d)::uuid, v.id, d, '09:00', '18:00'
FROM (VALUES ('00000000-0000-4000-8000-000000000802'::uuid, '2')) AS v(id, n),
     generate_series(1, 5) AS d
ON CONFLICT DO NOTHING;
INSERT INTO vet_availability (id, vet_id, weekday, starts_at, ends_at)
SELECT ('00000000-0000-4000-8000-00000000091' || d)::uuid,
       '00000000-0000-4000-8000-000000000801'::uuid, d, '00:00', '23:59'
FROM generate_series(1, 7) AS d
ON CONFLICT (id) DO UPDATE SET starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
    weekday = EXCLUDED.weekday, deleted_at = NULL, updated_at = now();

-- Prices (ARS) from 2026-01-01, open-ended: the general ones, and Martín's own consult.
INSERT INTO prices (id, service_id, vet_id, amount, valid_from) VALUES
    ('00000000-0000-4000-8000-000000000901', '00000000-0000-4000-8000-000000000401', NULL, 35000, '2026-01-01'),
    ('00000000-0000-4000-8000-000000000902', '00000000-0000-4000-8000-000000000402', NULL, 25000, '2026-01-01'),
    ('00000000-0000-4000-8000-000000000903', '00000000-0000-4000-8000-000000000403', NULL, 30000, '2026-01-01'),
    ('00000000-0000-4000-8000-000000000904', '00000000-0000-4000-8000-000000000401', '00000000-0000-4000-8000-000000000801', 38000, '2026-01-01')
ON CONFLICT DO NOTHING;

-- Turn-fee groups an owner may choose.
INSERT INTO turn_fee_groups (id, code, name, kind, value) VALUES
    ('00000000-0000-4000-8000-000000000911', 'URGENTE', 'Urgente (mismo día)', 'percent', 50),
    ('00000000-0000-4000-8000-000000000912', 'NOCTURNO', 'Nocturno (20 a 8 h)', 'fixed', 8000),
    ('00000000-0000-4000-8000-000000000913', 'FINDE', 'Fin de semana', 'percent', 20)
ON CONFLICT DO NOTHING;

-- Discounts: quiet Monday and Tuesday mornings; vaccination in winter.
INSERT INTO discounts (id, name, service_id, kind, value, valid_from, valid_until, weekdays, time_from, time_until) VALUES
    ('00000000-0000-4000-8000-000000000921', 'Mañanas de lunes y martes', NULL, 'percent', 10, '2026-01-01', NULL, '{1,2}', '08:00', '12:00'),
    ('00000000-0000-4000-8000-000000000922', 'Campaña de vacunación de invierno', '00000000-0000-4000-8000-000000000402', 'fixed', 3000, '2027-06-01', '2027-09-01', NULL, NULL, NULL)
ON CONFLICT DO NOTHING;
