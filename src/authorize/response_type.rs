//! `response_type` (RFC 6749 §3.1.1; OpenID Connect Core §3): the responses this service
//! gives, and where their parameters go.

use super::redirect::ResponseMode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseType {
    /// Authorization code (RFC 6749 §4.1).
    Code,
    /// Implicit (RFC 6749 §4.2): the access token in the fragment, never a refresh token.
    Token,
    /// OpenID Connect implicit (Core §3.2): an ID token and an access token in the fragment.
    IdTokenToken,
    /// OpenID Connect implicit (Core §3.2): an ID token alone in the fragment.
    IdToken,
}

impl ResponseType {
    /// A `response_type` value: space-separated, in any order (OAuth 2.0 Multiple Response
    /// Type Encoding Practices §2). The hybrid flow (`code id_token` ...) is not supported.
    pub fn parse(value: &str) -> Option<Self> {
        let mut names: Vec<&str> = value.split(' ').filter(|n| !n.is_empty()).collect();
        names.sort_unstable();
        match names.as_slice() {
            ["code"] => Some(ResponseType::Code),
            ["token"] => Some(ResponseType::Token),
            ["id_token", "token"] => Some(ResponseType::IdTokenToken),
            ["id_token"] => Some(ResponseType::IdToken),
            _ => None,
        }
    }

    /// Whether the response carries an ID token, which needs `openid` and `nonce`.
    pub fn has_id_token(self) -> bool {
        matches!(self, ResponseType::IdTokenToken | ResponseType::IdToken)
    }

    pub fn mode(self) -> ResponseMode {
        match self {
            ResponseType::Code => ResponseMode::Query,
            _ => ResponseMode::Fragment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ResponseType;
    use crate::authorize::redirect::ResponseMode;

    #[test]
    fn the_order_of_the_names_does_not_matter() {
        assert_eq!(
            ResponseType::parse("token id_token"),
            Some(ResponseType::IdTokenToken)
        );
        assert_eq!(
            ResponseType::parse("id_token token"),
            Some(ResponseType::IdTokenToken)
        );
    }

    #[test]
    fn the_hybrid_flow_and_unknown_names_are_not_supported() {
        for value in [
            "code id_token",
            "code token",
            "code id_token token",
            "none",
            "",
            "code code",
        ] {
            assert_eq!(ResponseType::parse(value), None, "{value}");
        }
    }

    #[test]
    fn only_the_code_goes_in_the_query() {
        assert_eq!(ResponseType::Code.mode(), ResponseMode::Query);
        for t in [
            ResponseType::Token,
            ResponseType::IdTokenToken,
            ResponseType::IdToken,
        ] {
            assert_eq!(t.mode(), ResponseMode::Fragment);
        }
    }
}
