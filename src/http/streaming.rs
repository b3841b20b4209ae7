//! Bodies streamed batch by batch from the database: an export of any size
//! holds one batch in memory at a time, and each batch is a short read of
//! its own (no transaction held open while a slow client reads).
//!
//! If a batch fails, the body ends there, without its trailer: a format
//! whose trailer proves completeness (the audit export's signed
//! checkpoint) is then never mistaken for a whole one.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use futures_util::Stream;

use crate::db::{Database, DbConnection};
use crate::error::AppError;

/// A batch's bytes and the cursor after it; `None` when there is no more.
pub type Batch<C> = Option<(Vec<u8>, C)>;

/// The next batch after a cursor.
pub trait NextBatch<C>:
    Fn(&mut DbConnection, C) -> Result<Batch<C>, AppError> + Clone + Send + 'static
{
}

impl<C, F> NextBatch<C> for F where
    F: Fn(&mut DbConnection, C) -> Result<Batch<C>, AppError> + Clone + Send + 'static
{
}

enum Step<C> {
    After(C),
    Done,
}

/// `head`, the batches from `start` on, then `trailer` (each when not empty).
pub fn batches<C, F>(
    db: Database,
    start: C,
    next: F,
    head: Vec<u8>,
    trailer: Vec<u8>,
) -> impl Stream<Item = Result<Bytes, AppError>>
where
    C: Send + 'static,
    F: NextBatch<C>,
{
    let head = (!head.is_empty()).then(|| Ok(Bytes::from(head)));
    let body = futures_util::stream::unfold(
        (Step::After(start), Some(trailer)),
        move |(step, trailer)| {
            let (db, next) = (db.clone(), next.clone());
            async move {
                let Step::After(cursor) = step else {
                    return None;
                };
                match db.read(move |conn| next(conn, cursor)).await {
                    Ok(Some((bytes, cursor))) => {
                        Some((Ok(Bytes::from(bytes)), (Step::After(cursor), trailer)))
                    }
                    Ok(None) => trailer
                        .filter(|t| !t.is_empty())
                        .map(|trailer| (Ok(Bytes::from(trailer)), (Step::Done, None))),
                    Err(err) => {
                        tracing::error!(error = ?err, "a streamed export ended early");
                        Some((Err(err), (Step::Done, None)))
                    }
                }
            }
        },
    );
    futures_util::StreamExt::chain(futures_util::stream::iter(head), body)
}

/// A streamed body offered as a file to save.
pub fn download(
    content_type: &str,
    file_name: &str,
    body: impl Stream<Item = Result<Bytes, AppError>> + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .streaming(body)
}
