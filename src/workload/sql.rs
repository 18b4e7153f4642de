//! Small pure SQL text helpers for workloads.

/// Qualifies every bare table reference (after `FROM`, `JOIN` or a from-list comma) to one of
/// `tables` with `db.`, outside string literals, quoted identifiers and comments, and not
/// where it is already qualified (`x.store`) or is a qualifier itself (`store.s_store_sk`).
///
/// Queries carry their database in the text rather than relying on a session's current
/// database: a Spark 3.5 Connect server that restarts gives the same session id a fresh
/// session (back in `default`) without telling the client.
pub fn qualify_tables(sql: &str, db: &str, tables: &[&str]) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 64);
    let mut i = 0;
    // Per parenthesis depth: whether we are inside a FROM clause (where a comma separates
    // table references rather than select-list items).
    let mut in_from: Vec<bool> = vec![false];
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        // Skip literals, quoted identifiers and comments verbatim.
        let skip_to = match c {
            b'\'' | b'`' | b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != c {
                    j += 1;
                }
                Some((j + 1).min(b.len()))
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                Some(sql[i..].find('\n').map(|n| i + n).unwrap_or(b.len()))
            }
            b'/' if b.get(i + 1) == Some(&b'*') => Some(
                sql[i + 2..]
                    .find("*/")
                    .map(|n| i + 2 + n + 2)
                    .unwrap_or(b.len()),
            ),
            _ => None,
        };
        if let Some(j) = skip_to {
            out.push_str(&sql[i..j]);
            i = j;
            continue;
        }
        if is_ident(c) {
            let mut j = i;
            while j < b.len() && is_ident(b[j]) {
                j += 1;
            }
            let word = &sql[i..j];
            let before = sql[..i].trim_end();
            let next = sql[j..].trim_start().as_bytes().first().copied();
            // A table reference follows FROM, JOIN or a from-list comma; an alias that
            // happens to spell a table name (`FROM item ITEM`) follows the table itself.
            let prev_word: String = before
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let prev_word: String = prev_word.chars().rev().collect();
            let from_list = *in_from.last().unwrap_or(&false);
            let in_from_now = (before.ends_with(',') && from_list)
                || prev_word.eq_ignore_ascii_case("from")
                || prev_word.eq_ignore_ascii_case("join");
            let kw = word.to_ascii_lowercase();
            if let Some(top) = in_from.last_mut() {
                if kw == "from" {
                    *top = true;
                } else if matches!(
                    kw.as_str(),
                    "select"
                        | "where"
                        | "group"
                        | "order"
                        | "having"
                        | "limit"
                        | "union"
                        | "intersect"
                        | "except"
                        | "window"
                        | "qualify"
                ) {
                    *top = false;
                }
            }
            let qualified = before.ends_with('.') || next == Some(b'.');
            if in_from_now && !qualified && tables.iter().any(|t| t.eq_ignore_ascii_case(word)) {
                out.push_str(db);
                out.push('.');
            }
            out.push_str(word);
            i = j;
            continue;
        }
        match c {
            b'(' => in_from.push(false),
            b')' if in_from.len() > 1 => {
                in_from.pop();
            }
            _ => {}
        }
        // Multi-byte characters are copied whole.
        let ch = sql[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifies_bare_table_names_only() {
        let sql = "select s_store_name, store.s_state from store, store_sales ss \
                   where ss.ss_store_sk = s_store_sk and 'store' <> `store` -- store\n\
                   and d.d_year in (select d_year from date_dim d) /* item */";
        let q = qualify_tables(sql, "tpcds_sf0_1", &crate::workload::tpcds::TABLES);
        assert_eq!(
            q,
            "select s_store_name, store.s_state from tpcds_sf0_1.store, tpcds_sf0_1.store_sales ss \
             where ss.ss_store_sk = s_store_sk and 'store' <> `store` -- store\n\
             and d.d_year in (select d_year from tpcds_sf0_1.date_dim d) /* item */"
        );
    }

    #[test]
    fn select_list_items_spelled_like_tables_stay_columns() {
        // Shapes of q49 and q51: an output column `item` / alias `web_sales` after a comma.
        let sql =
            "select channel, item, r from (select ws_item_sk as item from web_sales ws, item i) x \
                   order by 1, item";
        let q = qualify_tables(sql, "db", &crate::workload::tpcds::TABLES);
        assert_eq!(
            q,
            "select channel, item, r from (select ws_item_sk as item from db.web_sales ws, db.item i) x \
             order by 1, item"
        );
        let q = qualify_tables(
            "select a.x web_sales, b.y store_sales from web_v a, store_v b",
            "db",
            &["web_sales"],
        );
        assert_eq!(
            q,
            "select a.x web_sales, b.y store_sales from web_v a, store_v b"
        );
    }

    #[test]
    fn from_list_continues_after_a_join_condition() {
        // q49's shape: a comma after `LEFT OUTER JOIN … ON (…)` still separates tables.
        let sql =
            "FROM web_sales ws LEFT OUTER JOIN web_returns wr ON (ws.a = wr.a), date_dim WHERE x";
        let q = qualify_tables(sql, "db", &crate::workload::tpcds::TABLES);
        assert_eq!(q, "FROM db.web_sales ws LEFT OUTER JOIN db.web_returns wr ON (ws.a = wr.a), db.date_dim WHERE x");
    }

    #[test]
    fn leaves_ctes_columns_and_qualified_names_alone() {
        let sql = "WITH ssr AS (SELECT * FROM x.store_returns) SELECT ITEM.i_item_id, i_item_sk FROM Item ITEM, ssr";
        let q = qualify_tables(sql, "db", &crate::workload::tpcds::TABLES);
        assert_eq!(q, "WITH ssr AS (SELECT * FROM x.store_returns) SELECT ITEM.i_item_id, i_item_sk FROM db.Item ITEM, ssr");
    }
}
