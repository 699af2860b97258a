ALTER TABLE protocol_versions
    ALTER COLUMN verifier_address SET NOT NULL;
