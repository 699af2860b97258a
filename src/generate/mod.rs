//! Seed data generation from the introspected schema.

mod expr;
mod rng;
mod types;
mod value;

pub use value::Value;
