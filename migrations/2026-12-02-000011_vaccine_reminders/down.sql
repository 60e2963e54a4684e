ALTER TABLE pet_owners
    DROP COLUMN vaccine_reminders_email,
    DROP COLUMN vaccine_reminders_whatsapp;
