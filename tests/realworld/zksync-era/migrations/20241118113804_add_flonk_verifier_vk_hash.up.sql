ALTER TABLE protocol_patches
ADD COLUMN fflonk_snark_wrapper_vk_hash BYTEA DEFAULT NULL;
