//! Small text helpers shared across modules.

/// Escapes text for an XML element or attribute value.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_the_five_xml_specials() {
        assert_eq!(
            super::xml_escape(r#"a<b>&"c'"#),
            "a&lt;b&gt;&amp;&quot;c&apos;"
        );
    }
}
