-- The API benchmark's data (`make bench`, part `api`), on top of the demo data:
-- :vets vets, each covering a disc of 1.5 to 5 km (a 32-sided polygon) around a point
-- of Buenos Aires and its first ring of suburbs, available every day 07:00-21:00, with
-- the clinical specialty; :owners owners, each with a user, an address inside the same
-- area and a pet; :requests requests over the last year, in every state, whose
-- workflows are not run (marked started, so the outbox leaves them alone).
-- Reproducible: setseed fixes the points. Passwords are the demo owner's.
SELECT setseed(0.16);

CREATE TEMP TABLE bench_vets AS
SELECT gen_random_uuid() AS id, gen_random_uuid() AS user_id, n,
       -58.53 + random() * 0.25 AS lon, -34.72 + random() * 0.22 AS lat,
       1500 + random() * 3500 AS radius
FROM generate_series(1, :vets) AS n;

INSERT INTO users (id, email, password_hash, full_name, is_staff, is_active, created_at, updated_at)
SELECT user_id, 'bench-vet-' || n || '@example.com',
       (SELECT password_hash FROM users WHERE email = 'staff@demo.amarmascotas.ar'),
       'Vet ' || n, false, true, now(), now()
FROM bench_vets;
INSERT INTO veterinarians (id, user_id, full_name, license_number, cuit, phone, active, created_at, updated_at)
SELECT id, user_id, 'Vet ' || n, 'MP BENCH-' || n, '20' || lpad(n::text, 8, '0') || '0',
       '+54922' || lpad(n::text, 8, '0'), true, now(), now()
FROM bench_vets;
INSERT INTO vet_coverage_areas (id, vet_id, name, area, created_at, updated_at)
SELECT gen_random_uuid(), id, 'area ' || n,
       ST_Buffer(ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, radius, 8), now(), now()
FROM bench_vets;
INSERT INTO vet_availability (id, vet_id, weekday, starts_at, ends_at, created_at, updated_at)
SELECT gen_random_uuid(), v.id, d, '07:00', '21:00', now(), now()
FROM bench_vets v CROSS JOIN generate_series(1, 7) AS d;
INSERT INTO vet_specialties (vet_id, specialty_id, created_at)
SELECT id, '00000000-0000-4000-8000-000000000201', now() FROM bench_vets;

CREATE TEMP TABLE bench_owners AS
SELECT gen_random_uuid() AS id, gen_random_uuid() AS user_id, gen_random_uuid() AS address_id,
       gen_random_uuid() AS pet_id, n,
       ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
FROM generate_series(1, :owners) AS n,
     -- A point inside one of the priced neighbourhoods (a different one per owner).
     LATERAL (SELECT (ST_Dump(ST_GeneratePoints(area::geometry, 1))).geom
              FROM neighborhoods WHERE deleted_at IS NULL
              ORDER BY md5(n::text || id::text) LIMIT 1) AS p;

INSERT INTO users (id, email, password_hash, full_name, is_staff, is_active, created_at, updated_at)
SELECT user_id, 'bench-owner-' || n || '@example.com',
       (SELECT password_hash FROM users WHERE email = 'staff@demo.amarmascotas.ar'),
       'Owner ' || n, false, true, now(), now()
FROM bench_owners;
INSERT INTO pet_owners (id, user_id, full_name, email, phone, created_at, updated_at,
                        phone_verified_at, vaccine_reminders_whatsapp, vaccine_reminders_email)
SELECT id, user_id, 'Owner ' || n, 'bench-owner-' || n || '@example.com',
       '+54911' || lpad(n::text, 8, '0'), now(), now(), now(), false, false
FROM bench_owners;
INSERT INTO owner_addresses (id, owner_id, street, city, location, created_at, updated_at)
SELECT address_id, id, 'Calle ' || n, 'CABA',
       ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, now(), now()
FROM bench_owners;
INSERT INTO pets (id, owner_id, name, species_id, sex, neutered, deceased, created_at, updated_at)
SELECT pet_id, id, 'Pet ' || n, (SELECT id FROM species ORDER BY name LIMIT 1), 'unknown', false,
       false, now(), now()
FROM bench_owners;

CREATE TEMP TABLE bench_requests AS
SELECT gen_random_uuid() AS id,
       (ARRAY['pending', 'vet_asked', 'vet_accepted', 'coordinated', 'confirmed', 'completed',
              'completed', 'completed', 'cancelled', 'expired'])[1 + (r.n % 10)]::request_state AS state,
       r.at, o.id AS owner_id, o.pet_id, o.address_id
FROM (SELECT n, now() - random() * interval '365 days' AS at,
             1 + floor(random() * :owners)::int AS owner_no
      FROM generate_series(1, :requests) AS n) r
JOIN bench_owners o ON o.n = r.owner_no;

INSERT INTO service_requests (id, state, state_seq, description, vet_id, created_at, updated_at,
                              owner_id, pet_id, service_id, address_id, wanted, total, currency,
                              workflow_started)
SELECT id, state, CASE WHEN state = 'pending' THEN 0 ELSE 1 END, 'Consulta a domicilio', NULL,
       at, at, owner_id, pet_id, '00000000-0000-4000-8000-000000000401', address_id,
       tstzrange(at + interval '2 days', at + interval '2 days 2 hours'), 25000.00, 'ARS', true
FROM bench_requests;

-- What a request's status reads besides the row: its history (created, then its
-- state), one offer to a bench vet for every request past `pending`, and a payment
-- link for those that reached coordination.
INSERT INTO state_history (request_id, seq, from_state, to_state, actor, occurred_at)
SELECT id, 0, NULL::request_state, 'pending'::request_state, 'owner:' || owner_id, at
FROM bench_requests
UNION ALL
SELECT id, 1, 'pending'::request_state, state, 'system', at + interval '1 minute'
FROM bench_requests WHERE state <> 'pending';

INSERT INTO vet_offers (request_id, offer_no, vet_id, offered_at, answer, answered_at, expires_at)
SELECT r.id, 0, v.id, r.at + interval '1 minute',
       CASE WHEN r.state = 'vet_asked' THEN NULL ELSE 'accept'::vet_answer END,
       CASE WHEN r.state = 'vet_asked' THEN NULL ELSE r.at + interval '5 minutes' END,
       r.at + interval '2 hours'
FROM bench_requests r
JOIN veterinarians v
  ON v.license_number = 'MP BENCH-' || (1 + (hashtext(r.id::text)::bigint + 2147483648) % NULLIF(:vets, 0))
WHERE r.state <> 'pending';

INSERT INTO mp_preferences (id, request_id, idempotency_key, init_point, amount, expires_at, created_at)
SELECT 'bench-' || id, id, 'bench-' || id,
       'https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=bench-' || id,
       25000.00, at + interval '1 day', at + interval '10 minutes'
FROM bench_requests
WHERE state IN ('coordinated', 'confirmed', 'completed', 'expired');

ANALYZE;
