//! Where a report runs: here, over local files, standard input and S3 (`local`), or as one SQL
//! query on Amazon Athena (`athena`). Both are generic over `reports::ReportDef`, so they never
//! name a report, and both end in `render::print`.

pub mod athena;
pub mod local;
