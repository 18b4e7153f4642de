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

/// A plain-text table: columns padded to their widest cell, two spaces apart, the last column
/// unpadded, no trailing spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                let pad = widths[i].saturating_sub(c.chars().count());
                s.push_str(c);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out.push('\n');
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod table_tests {
    #[test]
    fn tables_pad_all_but_the_last_column() {
        let t = super::table(
            &["A", "LONGER", "LAST"],
            &[vec!["xyz".into(), "1".into(), "tail".into()]],
        );
        assert_eq!(t, "A    LONGER  LAST\nxyz  1       tail\n");
    }
}
