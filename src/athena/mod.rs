//! Amazon Athena, for `--engine athena`: the shared SQL builder (`sql`), the client that runs a
//! query and pages its rows (`client`), and the decoder of those rows by column kind
//! (`results`). Each report writes its own query with `sql` (see `reports/`); `engine::athena`
//! puts the three together. The table they query is defined by `ctq athena ddl` (`ddl/`).

pub mod client;
pub mod fields;
pub mod filters;
pub mod results;
pub mod sql;
