DROP VIEW release_build_status;
