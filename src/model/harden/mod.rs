//! Every check the loader makes so that a malformed or hostile file gets a typed error instead of
//! reaching a panic, an abort or an unbounded allocation inside tract, in the order the bytes
//! meet them:
//! - `wire`: the protobuf's wire format, before decoding (what decoding would allocate, nesting);
//! - `nodes`, `graph` (via `validate`): the decoded protobuf's structure, node attributes, wiring
//!   and declared sizes;
//! - `checked_ops`: op-level checks during tract's analysis, where every tensor's rank is known;
//! - `typed`: the typed graph, at every shape a plan is compiled for.
//!
//! Checks of fed *values* at run time are the CPU backend's (`backend::feed_values`).

pub mod checked_ops;
pub mod nodes;
pub mod structure;
pub mod typed;
pub mod wire;
