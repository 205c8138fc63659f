//! Sigma rules for `ctq detect`: which rules run (`load`: the built-in rules and `--rules` files,
//! each checked, the ones ctq cannot run named with the reason), how an event reaches them
//! (`gate`: the cheap fields a rule requires, and `index`, which indexes them so that most events
//! skip every rule), what a rule sees of an event (`view`, `text`), and whether it matches
//! (`eval`).
//!
//! Rules are parsed and compiled by `rsigma-parser` and `rsigma-eval`; ctq adds the CloudTrail
//! reading of a field (an object matches if any value inside it matches), the index, and the
//! checks on what a rule may use.

mod builtin;
pub mod correlate;
mod eval;
pub mod gate;
pub mod index;
mod load;
mod normalize;
mod rule;
mod select;
mod set;
pub mod sql;
mod text;
pub mod view;

pub use load::load;
pub use rule::{Level, Origin, Rule};
pub use select::{Loaded, Selection};
pub use set::{Head, RuleSet};
