//! Schema snapshots: catalog introspection into typed data, one
//! deterministic text rendering, and unified diffs between renderings.
