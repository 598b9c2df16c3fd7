//! Streams over the keyset-paged reads of the [`Store`] traits.
//!
//! They page rather than hold one cursor open: a page is a short query on the primary key, so a
//! stream of ten million rows never pins a connection, a long transaction or a growing SQLite
//! WAL, and the stream is `'static` (it owns an `Arc` of the store), so a server can hand it to
//! an HTTP body. The price is that a stream is not one snapshot; for the index that is what the
//! change feed is for (see [`IndexFeed`](crate::IndexFeed)), and an export of a bank being
//! edited simply includes or misses the edits made while it runs.

use std::sync::Arc;

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use takedown_model::{BankId, Content, ContentId, SignalId, Timestamp};

use crate::{BankScope, ContentQuery, IndexSignal, Store, StoreError, StoreResult};

/// Rows fetched per query by the streams.
const PAGE: u32 = 10_000;
/// Items per page when exporting (each carries its signals).
const EXPORT_PAGE: u32 = 1_000;

/// Every signal of content active at `now`, in signal-id order.
pub fn active_signals(
    store: Arc<dyn Store>,
    now: Timestamp,
) -> BoxStream<'static, StoreResult<IndexSignal>> {
    let pages = stream::try_unfold(
        (store, Some(None::<SignalId>)),
        move |(store, cursor)| async move {
            let Some(after) = cursor else {
                return Ok::<_, StoreError>(None);
            };
            let page = store.active_signals_page(now, after, PAGE).await?;
            let next = if page.len() < PAGE as usize {
                None
            } else {
                page.last().map(|signal| Some(signal.id))
            };
            Ok(Some((page, (store, next))))
        },
    );
    pages
        .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

/// Every item of a bank with its signals, in id order.
pub fn export_content(
    store: Arc<dyn Store>,
    bank: BankId,
) -> BoxStream<'static, StoreResult<Content>> {
    let pages = stream::try_unfold(
        (store, Some(None::<ContentId>)),
        move |(store, cursor)| async move {
            let Some(after) = cursor else {
                return Ok::<_, StoreError>(None);
            };
            let query = ContentQuery {
                scope: BankScope::Only(vec![bank]),
                after,
                limit: EXPORT_PAGE,
                ..ContentQuery::default()
            };
            let page = store.search_content(&query).await?;
            let next = page.next.map(Some);
            Ok(Some((page.items, (store, next))))
        },
    );
    pages
        .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}
