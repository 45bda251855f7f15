//! Keyset pagination: `page_size` and an opaque `page_token` in, `next_page_token` out.
//! The token encodes the last id of the page (ids are UUIDv7, so the order is stable and new
//! rows never shift earlier pages).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use uuid::Uuid;

use super::error::ApiError;
use crate::store::Page;

/// Default and largest page sizes.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;
const TOKEN_PREFIX: &str = "v1:";

/// The query parameters every list accepts.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page (1-500, default 50).
    pub page_size: Option<u32>,
    /// `next_page_token` from the previous page.
    pub page_token: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: i64,
}

impl PageQuery {
    pub fn parse(&self) -> Result<PageRequest, ApiError> {
        let size = self.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(ApiError::bad_parameter(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        let after = match self.page_token.as_deref() {
            None | Some("") => None,
            Some(token) => Some(decode(token).ok_or_else(|| {
                ApiError::bad_parameter("page_token", "is not a token returned by this list")
            })?),
        };
        Ok(PageRequest {
            after,
            limit: i64::from(size),
        })
    }
}

fn decode(token: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(TOKEN_PREFIX)?.parse().ok()
}

fn encode(last: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{last}"))
}

/// Turns a store page into DTOs plus the token of the next page.
pub fn into_page<R, T>(
    page: Page<R>,
    key: impl Fn(&R) -> Uuid,
    convert: impl Fn(R) -> T,
) -> (Vec<T>, Option<String>) {
    let next = if page.has_more {
        page.items.last().map(|r| encode(key(r)))
    } else {
        None
    };
    (page.items.into_iter().map(convert).collect(), next)
}

/// Declares a list response type `{ items: [...], next_page_token }` for one item type.
macro_rules! list_type {
    ($name:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// Pass as `page_token` for the next page; absent on the last page.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub next_page_token: Option<String>,
        }
    };
}
pub(crate) use list_type;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        assert_eq!(decode(&encode(id)), Some(id));
        assert_eq!(decode("not-a-token"), None);
        let q = PageQuery {
            page_size: Some(0),
            page_token: None,
        };
        assert!(q.parse().is_err());
        let q = PageQuery {
            page_size: None,
            page_token: Some("%%%".into()),
        };
        assert!(q.parse().is_err());
    }
}
