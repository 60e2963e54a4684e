-- Vaccine reminders: an owner chooses by which channels they get them (both, at first).
ALTER TABLE pet_owners
    ADD COLUMN vaccine_reminders_whatsapp boolean NOT NULL DEFAULT true,
    ADD COLUMN vaccine_reminders_email    boolean NOT NULL DEFAULT true;
