//! The columns that several reports show, each written once: its name, its kind and the SQL
//! expression (over the `w` relation of `athena::sql`) that fills it on Athena.

use crate::athena::sql::Cell;
use crate::document::Column;

pub const EVENT_TIME: Cell = (Column::time("event_time"), "to_iso8601(ts)");
pub const ACCOUNT: Cell = (Column::text("account"), "account_id");
pub const REGION: Cell = (Column::text("region"), "aws_region");
pub const EVENT_SOURCE: Cell = (Column::text("event_source"), "event_source");
pub const EVENT_NAME: Cell = (Column::text("event_name"), "event_name");
pub const PRINCIPAL: Cell = (Column::text("principal"), "principal");
pub const SOURCE_IP: Cell = (Column::text("source_ip"), "source_ip");
pub const USER_AGENT: Cell = (Column::text("user_agent"), "user_agent");
pub const ERROR_CODE: Cell = (Column::text("error_code"), "error_code");
pub const ERROR_MESSAGE: Cell = (Column::text("error_message"), "error_message");
pub const EVENT_ID: Cell = (Column::text("event_id"), "event_id");
pub const INVOKED_BY: Cell = (Column::text("invoked_by"), "invoked_by");
pub const HOST_HEADER: Cell = (Column::text("host_header"), "host");
