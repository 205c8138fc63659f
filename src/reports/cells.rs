//! The columns that several reports show, each written once: its name, its kind and the SQL
//! expression (over the `w` relation of `athena::sql`) that fills it on Athena, and how a
//! terminal table narrows it (`Column::fit`, `Column::rank`: 0 is never left out).

use crate::athena::sql::Cell;
use crate::document::Column;

pub const EVENT_TIME: Cell = (Column::time("event_time").rank(0), "to_iso8601(ts)");
pub const ACCOUNT: Cell = (Column::text("account").rank(5), "account_id");
pub const REGION: Cell = (Column::text("region").rank(6), "aws_region");
pub const EVENT_SOURCE: Cell = (Column::text("event_source").rank(4), "event_source");
pub const EVENT_NAME: Cell = (Column::text("event_name").rank(0), "event_name");
pub const PRINCIPAL: Cell = (Column::text("principal").elide().rank(1), "principal");
pub const SOURCE_IP: Cell = (Column::text("source_ip").rank(2), "source_ip");
pub const USER_AGENT: Cell = (Column::text("user_agent").wrap().rank(7), "user_agent");
pub const ERROR_CODE: Cell = (Column::text("error_code").rank(3), "error_code");
pub const ERROR_MESSAGE: Cell = (
    Column::text("error_message").wrap().rank(4),
    "error_message",
);
pub const EVENT_ID: Cell = (Column::text("event_id").rank(8), "event_id");
pub const INVOKED_BY: Cell = (Column::text("invoked_by").rank(4), "invoked_by");
pub const HOST_HEADER: Cell = (Column::text("host_header").elide().rank(1), "host");

/// A shared cell at another rank, for a report to which it matters more or less.
pub const fn ranked(cell: Cell, rank: u8) -> Cell {
    (cell.0.rank(rank), cell.1)
}
