//! Turns the `http(s)://` URLs of a plain text (a mail body) into links; everything else is
//! escaped text.

use maud::{Markup, html};

/// A piece of a text: plain text or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Characters a URL in running text may contain: printable ASCII except quotes, angle
/// brackets and a few that never end up in our links. Japanese text right after a URL (「…/startからログイン」)
/// ends it.
fn url_char(c: char) -> bool {
    c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '\'' | '`' | '{' | '}' | '|' | '\\' | '^')
}

/// Trailing punctuation that belongs to the sentence, not to the URL.
fn trim_url(url: &str) -> &str {
    let mut end = url.len();
    loop {
        let s = &url[..end];
        let Some(last) = s.chars().last() else { break };
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' => true,
            ')' => s.matches('(').count() < s.matches(')').count(),
            ']' => s.matches('[').count() < s.matches(']').count(),
            _ => false,
        };
        if !drop {
            break;
        }
        end -= last.len_utf8();
    }
    &url[..end]
}

fn scheme_at(text: &str, i: usize) -> Option<usize> {
    let rest = &text[i..];
    ["https://", "http://"]
        .into_iter()
        .find(|s| rest.get(..s.len()).is_some_and(|head| head.eq_ignore_ascii_case(s)))
        .map(str::len)
}

/// Splits a text into plain pieces and URL pieces.
pub fn split(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    while i < text.len() {
        let Some(c) = text[i..].chars().next() else { break };
        let after_word = text[..i].chars().last().is_some_and(|p| p.is_ascii_alphanumeric());
        if (c == 'h' || c == 'H')
            && !after_word
            && let Some(scheme_len) = scheme_at(text, i)
        {
            let len = text[i..].find(|c: char| !url_char(c)).unwrap_or(text.len() - i);
            let url = trim_url(&text[i..i + len]);
            if url.len() > scheme_len {
                if plain_start < i {
                    out.push(Piece::Text(&text[plain_start..i]));
                }
                out.push(Piece::Link(url));
                i += url.len();
                plain_start = i;
                continue;
            }
        }
        i += c.len_utf8();
    }
    if plain_start < text.len() {
        out.push(Piece::Text(&text[plain_start..]));
    }
    out
}

/// The text as HTML: escaped, with its URLs as links.
pub fn linkify(text: &str) -> Markup {
    html! {
        @for piece in split(text) {
            @match piece {
                Piece::Text(t) => (t),
                Piece::Link(url) => a href=(url) rel="noopener noreferrer" { (url) },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_urls_in_japanese_text() {
        let text = "下記URLよりログインしご利用下さい。 https://localhost:8443/t/HXOS2/login\n※このメールは";
        assert_eq!(
            split(text),
            vec![
                Piece::Text("下記URLよりログインしご利用下さい。 "),
                Piece::Link("https://localhost:8443/t/HXOS2/login"),
                Piece::Text("\n※このメールは"),
            ]
        );
        assert_eq!(
            split("URL：https://x.jp/a?b=1&c=2からログイン"),
            vec![Piece::Text("URL："), Piece::Link("https://x.jp/a?b=1&c=2"), Piece::Text("からログイン"),]
        );
    }

    #[test]
    fn trailing_punctuation_stays_text() {
        assert_eq!(
            split("see https://x.jp/a. Then"),
            vec![Piece::Text("see "), Piece::Link("https://x.jp/a"), Piece::Text(". Then")]
        );
        assert_eq!(split("(https://x.jp/a)"), vec![Piece::Text("("), Piece::Link("https://x.jp/a"), Piece::Text(")")]);
        assert_eq!(split("https://x.jp/wiki/A_(b)"), vec![Piece::Link("https://x.jp/wiki/A_(b)")]);
        assert_eq!(split("https:// nothing"), vec![Piece::Text("https:// nothing")]);
        assert_eq!(split("xhttps://x.jp"), vec![Piece::Text("xhttps://x.jp")]);
    }

    #[test]
    fn escapes_everything_and_links_only_http() {
        let html = linkify("<script>alert(1)</script> https://x.jp/?a=<b>&c=\"d\" javascript:alert(1)").into_string();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<a href=\"https://x.jp/?a=\" rel=\"noopener noreferrer\">https://x.jp/?a=</a>"));
        assert!(html.contains("&lt;b&gt;&amp;c=&quot;d&quot;"));
        assert!(!html.contains("href=\"javascript"));
        assert!(!html.contains("<script"));
        let amp = linkify("https://x.jp/?a=1&b=2").into_string();
        assert!(amp.contains("href=\"https://x.jp/?a=1&amp;b=2\""));
    }

    proptest! {
        #[test]
        fn pieces_rebuild_the_text(s in "\\PC{0,80}(https?://[a-z.<>\"/()]{0,20})?\\PC{0,20}") {
            let rebuilt: String = split(&s).into_iter().map(|p| match p { Piece::Text(t) | Piece::Link(t) => t }).collect();
            prop_assert_eq!(rebuilt, s.clone());
            let html = linkify(&s).into_string();
            prop_assert!(!html.contains("<script"));
        }
    }
}
