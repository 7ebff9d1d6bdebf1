//! User lists as rendered JSON, answered again until the next change to any user.
//!
//! Dagu's UI reads the list each time its users page opens, and a page of 50 is a query and about
//! 12 KB of JSON: ~200 µs of host-demo's CPU per request under wrk, where users change rarely. A
//! rendered list is kept under the principal cache's generation, which every user write in this
//! process moves and another process's write moves within the refresh interval of [`Freshness`]
//! (the same bound a revocation has). A list rendered at another generation is never answered.
//!
//! [`Freshness`]: super::Freshness

use std::sync::Arc;

use parking_lot::RwLock;

/// A list larger than this (about 3,500 users with no grants) is rendered on each request: it is
/// read rarely, and keeping it would hold megabytes.
const MAX_LIST_BYTES: usize = 1024 * 1024;
/// What all kept lists may hold together; past it, the kept lists are dropped and kept anew.
const MAX_TOTAL_BYTES: usize = 8 * 1024 * 1024;
/// Every cursor is a list of its own, so a client paging through a large installation would
/// otherwise add one per page.
const MAX_LISTS: usize = 64;

/// Which list was asked for: the whole list, or `limit` users after `cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListRequest<'a> {
    Whole,
    Page {
        limit: usize,
        cursor: Option<&'a str>,
    },
}

impl<'a> ListRequest<'a> {
    fn cursor(self) -> Option<&'a str> {
        match self {
            Self::Whole => None,
            Self::Page { cursor, .. } => cursor,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kept {
    Whole,
    Page {
        limit: usize,
        cursor: Option<Box<str>>,
    },
}

impl Kept {
    fn of(request: ListRequest<'_>) -> Self {
        match request {
            ListRequest::Whole => Self::Whole,
            ListRequest::Page { limit, cursor } => Self::Page {
                limit,
                cursor: cursor.map(Into::into),
            },
        }
    }

    fn answers(&self, request: ListRequest<'_>) -> bool {
        match (self, request) {
            (Self::Whole, ListRequest::Whole) => true,
            (
                Self::Page { limit, cursor },
                ListRequest::Page {
                    limit: l,
                    cursor: c,
                },
            ) => *limit == l && cursor.as_deref() == c,
            _ => false,
        }
    }
}

#[derive(Default)]
struct Lists {
    generation: u64,
    bytes: usize,
    kept: Vec<(Kept, Arc<[u8]>)>,
}

impl Lists {
    /// Nothing kept, at `generation`.
    fn at(generation: u64) -> Self {
        Self {
            generation,
            ..Self::default()
        }
    }
}

#[derive(Default)]
pub struct RenderedLists {
    lists: RwLock<Lists>,
}

impl RenderedLists {
    /// The list rendered for `request` at `generation`, if one was kept.
    pub fn get(&self, generation: u64, request: ListRequest<'_>) -> Option<Arc<[u8]>> {
        let lists = self.lists.read();
        if lists.generation != generation {
            return None;
        }
        lists
            .kept
            .iter()
            .find(|(kept, _)| kept.answers(request))
            .map(|(_, json)| Arc::clone(json))
    }

    /// Keeps `json`, rendered for `request` from data read at `generation` (read before the
    /// data). A list from an older generation than the kept ones is dropped: the data changed
    /// since it was read.
    pub fn put(&self, generation: u64, request: ListRequest<'_>, json: &[u8]) {
        // The cursor counts too: it is the client's text, and a valid one can be long.
        let size = json.len() + request.cursor().map_or(0, str::len);
        if size > MAX_LIST_BYTES {
            return;
        }
        let mut lists = self.lists.write();
        if generation < lists.generation {
            return;
        }
        if generation > lists.generation {
            *lists = Lists::at(generation);
        }
        // Two callers that missed the same list at once both render it; the second keeps nothing
        // (and must not empty a full cache for a list it already has).
        if lists.kept.iter().any(|(kept, _)| kept.answers(request)) {
            return;
        }
        if lists.kept.len() >= MAX_LISTS || lists.bytes + size > MAX_TOTAL_BYTES {
            *lists = Lists::at(generation);
        }
        lists.bytes += size;
        lists.kept.push((Kept::of(request), json.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: ListRequest<'static> = ListRequest::Page {
        limit: 50,
        cursor: None,
    };

    #[test]
    fn a_list_is_answered_only_for_the_request_and_generation_it_was_rendered_for() {
        let lists = RenderedLists::default();
        lists.put(3, FIRST, b"page");
        lists.put(3, ListRequest::Whole, b"whole");
        assert_eq!(lists.get(3, FIRST).as_deref(), Some(&b"page"[..]));
        assert_eq!(
            lists.get(3, ListRequest::Whole).as_deref(),
            Some(&b"whole"[..])
        );
        for other in [
            ListRequest::Page {
                limit: 51,
                cursor: None,
            },
            ListRequest::Page {
                limit: 50,
                cursor: Some("c"),
            },
        ] {
            assert!(lists.get(3, other).is_none(), "{other:?}");
        }
        assert!(lists.get(4, FIRST).is_none(), "a later generation");
    }

    #[test]
    fn a_list_read_before_a_change_is_not_kept_after_it() {
        let lists = RenderedLists::default();
        lists.put(5, FIRST, b"new");
        lists.put(4, ListRequest::Whole, b"old");
        assert!(lists.get(5, ListRequest::Whole).is_none());
        lists.put(6, ListRequest::Whole, b"newer");
        assert!(
            lists.get(6, FIRST).is_none(),
            "the older generation's lists went"
        );
        assert_eq!(
            lists.get(6, ListRequest::Whole).as_deref(),
            Some(&b"newer"[..])
        );
    }

    #[test]
    fn what_is_kept_is_bounded_in_size_and_number() {
        let lists = RenderedLists::default();
        lists.put(1, ListRequest::Whole, &vec![b' '; MAX_LIST_BYTES + 1]);
        assert!(
            lists.get(1, ListRequest::Whole).is_none(),
            "too large to keep"
        );
        let cursors: Vec<String> = (0..=MAX_LISTS).map(|i| i.to_string()).collect();
        for cursor in &cursors {
            let page = ListRequest::Page {
                limit: 50,
                cursor: Some(cursor),
            };
            lists.put(1, page, b"p");
        }
        let kept = cursors
            .iter()
            .filter(|cursor| {
                let page = ListRequest::Page {
                    limit: 50,
                    cursor: Some(cursor),
                };
                lists.get(1, page).is_some()
            })
            .count();
        assert_eq!(kept, 1, "the lists were dropped when full, the newest kept");
        let big = vec![b' '; MAX_LIST_BYTES];
        for limit in 0..MAX_TOTAL_BYTES / MAX_LIST_BYTES + 1 {
            lists.put(
                2,
                ListRequest::Page {
                    limit,
                    cursor: None,
                },
                &big,
            );
        }
        assert!(lists.lists.read().bytes <= MAX_TOTAL_BYTES);
    }

    #[test]
    fn keeping_a_list_already_kept_drops_nothing() {
        let lists = RenderedLists::default();
        let cursors: Vec<String> = (0..MAX_LISTS).map(|i| i.to_string()).collect();
        let page = |cursor| ListRequest::Page {
            limit: 50,
            cursor: Some(cursor),
        };
        for cursor in &cursors {
            lists.put(1, page(cursor), b"p");
        }
        lists.put(1, page(&cursors[0]), b"p");
        assert!(
            cursors
                .iter()
                .all(|cursor| lists.get(1, page(cursor)).is_some())
        );
    }
}
