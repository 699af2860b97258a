//! Seed data generation from the introspected schema.
