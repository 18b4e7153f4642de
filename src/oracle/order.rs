//! Which row order a result must have: the outermost query's `ORDER BY` and `LIMIT` (pure).
//!
//! [`OrderSpec::from_sql`] reads the query text with a small tokenizer (strings, quoted
//! identifiers and comments are skipped properly; parentheses are tracked), so an `ORDER BY`
//! inside a subquery, a CTE or a window specification is never taken for the outer one. Each
//! item of the outer `ORDER BY` is resolved to an output column: by ordinal (`ORDER BY 2`), by
//! name or alias (case-insensitive; quotes removed; `a.col` → `col`), or — for an expression —
//! by an output column named exactly like the expression text. The first item that cannot be
//! resolved ends the known keys: what follows it cannot be used, because the unresolved item
//! decides the order before them.

use serde::{Deserialize, Serialize};

/// Where nulls sort, as written in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NullOrder {
    /// No `NULLS FIRST` / `NULLS LAST`: the engine's default decides, and the defaults differ
    /// (Spark: first when ascending, last when descending; DuckDB: last), so the oracle
    /// accepts nulls of such a key at either end of their tie group.
    #[default]
    Unspecified,
    /// `NULLS FIRST`.
    First,
    /// `NULLS LAST`.
    Last,
}

/// One resolved `ORDER BY` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SortKey {
    /// Output column (0-based).
    pub column: usize,
    /// `DESC`.
    pub descending: bool,
    /// Null placement as written.
    pub nulls: NullOrder,
}

impl SortKey {
    /// An ascending key on `column` with engine-default null placement.
    pub fn asc(column: usize) -> Self {
        Self {
            column,
            descending: false,
            nulls: NullOrder::Unspecified,
        }
    }
}

/// The order a query's result must have, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSpec {
    /// Whether the outermost query has an `ORDER BY` at all.
    pub ordered: bool,
    /// The resolved prefix of the `ORDER BY` items, in order.
    pub keys: Vec<SortKey>,
    /// The text of the first item that could not be resolved (`None` when all were, or when
    /// there is no `ORDER BY`); the order is then known only by [`OrderSpec::keys`].
    pub unresolved: Option<String>,
    /// `LIMIT n` (or `FETCH FIRST n ROWS ONLY`) of the outermost query.
    pub limit: Option<u64>,
    /// `OFFSET n` of the outermost query.
    pub offset: Option<u64>,
}

impl OrderSpec {
    /// No order: the result is compared as a multiset.
    pub fn unordered() -> Self {
        Self::default()
    }

    /// A complete ascending order on `columns` (0-based), without a limit.
    pub fn by_columns(columns: &[usize]) -> Self {
        Self {
            ordered: true,
            keys: columns.iter().copied().map(SortKey::asc).collect(),
            ..Self::default()
        }
    }

    /// The same order with `LIMIT n`.
    pub fn with_limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Whether every `ORDER BY` item was resolved to an output column.
    pub fn is_complete(&self) -> bool {
        self.unresolved.is_none()
    }

    /// Analyses the outermost query of `sql` (the last statement, if there are several)
    /// against the names of its result columns (see the module docs). Never fails: what cannot
    /// be understood is left out, which only makes the comparison more lenient.
    pub fn from_sql(sql: &str, output_columns: &[&str]) -> Self {
        let tokens = tokenize(sql);
        let statement = last_statement(&tokens);
        let text = |t: &Token| token_text(sql, t);
        let is_word = |t: &Token, w: &str| is_word(sql, t, w);
        let top = |i: usize| statement.get(i).filter(|t| t.depth == 0);

        let order_by = (0..statement.len()).rev().find(|&i| {
            top(i).is_some_and(|t| is_word(t, "order"))
                && top(i + 1).is_some_and(|t| is_word(t, "by"))
        });

        let mut spec = OrderSpec::default();
        let tail_start = order_by.map_or(0, |i| i + 2);
        let mut clause_end = statement.len();
        for i in tail_start..statement.len() {
            let Some(t) = top(i) else { continue };
            let number_at = |j: usize| {
                top(j)
                    .filter(|n| n.kind == Kind::Number)
                    .and_then(|n| text(n).parse::<u64>().ok())
            };
            if is_word(t, "limit") || is_word(t, "offset") || is_word(t, "fetch") {
                clause_end = clause_end.min(i);
            }
            if is_word(t, "limit") {
                if let Some(n) = number_at(i + 1) {
                    spec.limit = Some(n);
                }
            } else if is_word(t, "offset") {
                if let Some(n) = number_at(i + 1) {
                    spec.offset = Some(n);
                }
            } else if is_word(t, "fetch")
                && top(i + 1).is_some_and(|n| is_word(n, "first") || is_word(n, "next"))
            {
                if let Some(n) = number_at(i + 2) {
                    spec.limit = Some(n);
                }
            }
        }

        let Some(order_by) = order_by else {
            return spec;
        };
        spec.ordered = true;
        let items = statement
            .get(order_by + 2..clause_end)
            .unwrap_or_default()
            .split(|t| t.depth == 0 && t.kind == Kind::Punct(','));
        let items: Vec<&[Token]> = items.collect();

        // DuckDB's `ORDER BY ALL`: every column, left to right.
        if let [item] = items.as_slice() {
            let (body, descending, nulls) = strip_direction(sql, item);
            if let [only] = body {
                if is_word(only, "all")
                    && !output_columns.iter().any(|c| c.eq_ignore_ascii_case("all"))
                {
                    spec.keys = (0..output_columns.len())
                        .map(|column| SortKey {
                            column,
                            descending,
                            nulls,
                        })
                        .collect();
                    return spec;
                }
            }
        }

        for item in items {
            let (body, descending, nulls) = strip_direction(sql, item);
            match resolve(sql, body, output_columns) {
                Some(column) => spec.keys.push(SortKey {
                    column,
                    descending,
                    nulls,
                }),
                None => {
                    let item_text = match (item.first(), item.last()) {
                        (Some(first), Some(last)) => {
                            sql.get(first.start..last.end).unwrap_or("").trim()
                        }
                        _ => "",
                    };
                    spec.unresolved = Some(collapse_whitespace(item_text));
                    break;
                }
            }
        }
        spec
    }
}

fn token_text<'s>(sql: &'s str, t: &Token) -> &'s str {
    sql.get(t.start..t.end).unwrap_or("")
}

fn is_word(sql: &str, t: &Token, w: &str) -> bool {
    t.kind == Kind::Word && token_text(sql, t).eq_ignore_ascii_case(w)
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits `NULLS FIRST|LAST` and `ASC|DESC` off the end of an item.
fn strip_direction<'t>(sql: &str, item: &'t [Token]) -> (&'t [Token], bool, NullOrder) {
    let is_word = |t: &Token, w: &str| is_word(sql, t, w);
    let mut body = item;
    let mut nulls = NullOrder::Unspecified;
    if let [rest @ .., n, which] = body {
        if is_word(n, "nulls") {
            if is_word(which, "first") {
                nulls = NullOrder::First;
                body = rest;
            } else if is_word(which, "last") {
                nulls = NullOrder::Last;
                body = rest;
            }
        }
    }
    let mut descending = false;
    if let [rest @ .., dir] = body {
        if is_word(dir, "desc") {
            descending = true;
            body = rest;
        } else if is_word(dir, "asc") {
            body = rest;
        }
    }
    (body, descending, nulls)
}

/// The output column an `ORDER BY` item (without direction) refers to, if it can be told.
fn resolve(sql: &str, body: &[Token], outputs: &[&str]) -> Option<usize> {
    let text = |t: &Token| token_text(sql, t);
    match body {
        [] => None,
        [n] if n.kind == Kind::Number => {
            let ordinal = text(n).parse::<usize>().ok()?;
            (1..=outputs.len()).contains(&ordinal).then(|| ordinal - 1)
        }
        _ if is_identifier_chain(body) => {
            let last = body.last()?;
            resolve_name(&unquote(text(last)), outputs)
        }
        [first, .., last] => {
            let expression = normalise_expression(sql.get(first.start..last.end)?);
            let matches: Vec<usize> = outputs
                .iter()
                .enumerate()
                .filter(|(_, name)| normalise_expression(name) == expression)
                .map(|(i, _)| i)
                .collect();
            match matches.as_slice() {
                [only] => Some(*only),
                _ => None,
            }
        }
        [_] => None,
    }
}

/// `name`, `"name"`, `a.name`, `` `a`.`name` `` …
fn is_identifier_chain(body: &[Token]) -> bool {
    body.iter().enumerate().all(|(i, t)| {
        if i % 2 == 0 {
            matches!(t.kind, Kind::Word | Kind::Quoted)
        } else {
            t.kind == Kind::Punct('.')
        }
    }) && body.len() % 2 == 1
}

fn resolve_name(name: &str, outputs: &[&str]) -> Option<usize> {
    let exact: Vec<usize> = (0..outputs.len()).filter(|&i| outputs[i] == name).collect();
    if let [only] = exact.as_slice() {
        return Some(*only);
    }
    let folded: Vec<usize> = (0..outputs.len())
        .filter(|&i| outputs[i].to_lowercase() == name.to_lowercase())
        .collect();
    match folded.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

fn normalise_expression(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '`'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The contents of a quoted identifier (`"a""b"` → `a"b`); other text unchanged.
fn unquote(s: &str) -> String {
    for q in ['"', '`'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            let inner = &s[1..s.len() - 1];
            let doubled: String = [q, q].iter().collect();
            return inner.replace(&doubled, &q.to_string());
        }
    }
    s.to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Quoted,
    Str,
    Number,
    Punct(char),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
    /// Parenthesis depth (a parenthesis itself is at the depth outside it).
    depth: u32,
}

fn tokenize(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let n = b.len();
    let mut out = Vec::new();
    let mut depth = 0u32;
    let mut i = 0;
    let word_byte = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < n {
        let c = b[i];
        let start = i;
        let kind = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < n && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < n && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(n);
                continue;
            }
            b'\'' | b'"' | b'`' => {
                i += 1;
                while i < n {
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                if c == b'\'' {
                    Kind::Str
                } else {
                    Kind::Quoted
                }
            }
            _ if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                while i < n && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                if i < n && (b[i] == b'e' || b[i] == b'E') {
                    let mut j = i + 1;
                    if j < n && (b[j] == b'+' || b[j] == b'-') {
                        j += 1;
                    }
                    if j < n && b[j].is_ascii_digit() {
                        i = j;
                        while i < n && b[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
                Kind::Number
            }
            _ if word_byte(c) => {
                while i < n && word_byte(b[i]) {
                    i += 1;
                }
                Kind::Word
            }
            b'(' => {
                i += 1;
                out.push(Token {
                    kind: Kind::Punct('('),
                    start,
                    end: i,
                    depth,
                });
                depth += 1;
                continue;
            }
            b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
                Kind::Punct(')')
            }
            _ => {
                i += 1;
                Kind::Punct(char::from(c))
            }
        };
        out.push(Token {
            kind,
            start,
            end: i.min(n),
            depth,
        });
    }
    out
}

/// The tokens of the last non-empty statement (statements end at a top-level `;`).
fn last_statement(tokens: &[Token]) -> &[Token] {
    tokens
        .split(|t| t.depth == 0 && t.kind == Kind::Punct(';'))
        .rfind(|s| !s.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(spec: &OrderSpec) -> Vec<(usize, bool, NullOrder)> {
        spec.keys
            .iter()
            .map(|k| (k.column, k.descending, k.nulls))
            .collect()
    }

    const U: NullOrder = NullOrder::Unspecified;

    #[test]
    fn simple_order_by_with_limit() {
        let sql = "select i_item_id, i_item_desc, s_store_id, sum(x) total\n\
                   from t group by 1,2,3\n\
                   order by i_item_id, i_item_desc, s_store_id limit 100";
        let spec = OrderSpec::from_sql(sql, &["i_item_id", "i_item_desc", "s_store_id", "total"]);
        assert!(spec.ordered);
        assert!(spec.is_complete());
        assert_eq!(
            keys(&spec),
            vec![(0, false, U), (1, false, U), (2, false, U)]
        );
        assert_eq!(spec.limit, Some(100));
        assert_eq!(spec.offset, None);
    }

    #[test]
    fn ordinals_and_out_of_range_ordinals() {
        let spec = OrderSpec::from_sql("SELECT a, b FROM t ORDER BY 1, 2 DESC", &["a", "b"]);
        assert_eq!(keys(&spec), vec![(0, false, U), (1, true, U)]);
        assert_eq!(spec.limit, None);
        let spec = OrderSpec::from_sql("SELECT a, b FROM t ORDER BY 2, 3, 1", &["a", "b"]);
        assert_eq!(keys(&spec), vec![(1, false, U)]);
        assert_eq!(spec.unresolved.as_deref(), Some("3"));
    }

    #[test]
    fn no_order_by() {
        let spec = OrderSpec::from_sql("select count(*) from store_sales", &["count_star()"]);
        assert_eq!(spec, OrderSpec::unordered());
        let spec = OrderSpec::from_sql(
            "select * from (select a from t order by a) limit 10",
            &["a"],
        );
        assert!(!spec.ordered);
        assert!(spec.keys.is_empty());
        assert_eq!(spec.limit, Some(10));
    }

    #[test]
    fn inner_order_by_in_subqueries_ctes_and_windows_is_ignored() {
        let sql = "with x as (select a, b from t order by b limit 5)\n\
                   select a, rank() over (partition by a order by b desc) rk\n\
                   from (select * from x order by a) s";
        let spec = OrderSpec::from_sql(sql, &["a", "rk"]);
        assert!(!spec.ordered);
        assert_eq!(spec.limit, None);

        // TPC-DS q70 shape: window ORDER BY and subquery ranks inside parentheses.
        let q70 = "SELECT sum(ss_net_profit) AS total_sum, s_state, s_county,\n\
                   grouping(s_state)+grouping(s_county) AS lochierarchy,\n\
                   rank() OVER (PARTITION BY grouping(s_state)+grouping(s_county),\n\
                     CASE WHEN grouping(s_county) = 0 THEN s_state END\n\
                     ORDER BY sum(ss_net_profit) DESC) AS rank_within_parent\n\
                   FROM store_sales WHERE s_state IN (SELECT s_state FROM (SELECT s_state,\n\
                     rank() OVER (PARTITION BY s_state ORDER BY sum(ss_net_profit) DESC) AS ranking\n\
                     FROM store_sales GROUP BY s_state) tmp1 WHERE ranking <= 5 )\n\
                   GROUP BY rollup(s_state,s_county)\n\
                   ORDER BY lochierarchy DESC ,\n\
                            CASE WHEN lochierarchy = 0 THEN s_state END ,\n\
                            rank_within_parent\n\
                   LIMIT 100;\n";
        let cols = [
            "total_sum",
            "s_state",
            "s_county",
            "lochierarchy",
            "rank_within_parent",
        ];
        let spec = OrderSpec::from_sql(q70, &cols);
        assert!(spec.ordered);
        assert_eq!(keys(&spec), vec![(3, true, U)]);
        assert_eq!(
            spec.unresolved.as_deref(),
            Some("CASE WHEN lochierarchy = 0 THEN s_state END")
        );
        assert_eq!(spec.limit, Some(100));
    }

    #[test]
    fn tpcds_q36_nulls_first_and_unresolvable_case() {
        let sql = "order by lochierarchy desc, case when lochierarchy = 0 then i_category end, \
                   rank_within_parent";
        let sql = format!("select gross_margin, i_category, i_class, lochierarchy, rank_within_parent from r {sql}");
        let cols = [
            "gross_margin",
            "i_category",
            "i_class",
            "lochierarchy",
            "rank_within_parent",
        ];
        let spec = OrderSpec::from_sql(&sql, &cols);
        assert_eq!(keys(&spec), vec![(3, true, U)]);
        assert!(!spec.is_complete());

        let duck = "SELECT gross_margin, i_category FROM results_rollup\n\
                    ORDER BY lochierarchy DESC NULLS FIRST,\n\
                    CASE WHEN lochierarchy = 0 THEN i_category END NULLS FIRST,\n\
                    rank_within_parent NULLS FIRST\nLIMIT 100;\n\n";
        let spec = OrderSpec::from_sql(duck, &cols);
        assert_eq!(keys(&spec), vec![(3, true, NullOrder::First)]);
        assert_eq!(spec.limit, Some(100));
    }

    #[test]
    fn qualified_quoted_and_case_insensitive_names() {
        let sql = "select c.c_last_name, c.C_First_Name, \"order count\", `x y`\n\
                   from customer c\n\
                   order by C.C_LAST_NAME asc nulls last, c_first_name desc nulls first,\n\
                   \"order count\", `x y`";
        let spec = OrderSpec::from_sql(sql, &["c_last_name", "c_first_name", "order count", "x y"]);
        assert_eq!(
            keys(&spec),
            vec![
                (0, false, NullOrder::Last),
                (1, true, NullOrder::First),
                (2, false, U),
                (3, false, U)
            ]
        );
        assert!(spec.is_complete());
    }

    #[test]
    fn expressions_resolve_only_to_a_column_named_like_them() {
        let sql = "select i_brand, sum(ss_ext_sales_price) from t group by i_brand \
                   order by SUM( ss_ext_sales_price ) desc, i_brand";
        let spec = OrderSpec::from_sql(sql, &["i_brand", "sum(ss_ext_sales_price)"]);
        assert_eq!(keys(&spec), vec![(1, true, U), (0, false, U)]);
        let spec = OrderSpec::from_sql(sql, &["i_brand", "ext_price"]);
        assert!(spec.keys.is_empty());
        assert_eq!(
            spec.unresolved.as_deref(),
            Some("SUM( ss_ext_sales_price ) desc")
        );
    }

    #[test]
    fn ambiguous_and_unknown_names_are_unresolved() {
        let spec = OrderSpec::from_sql("select a.x, b.x from a, b order by a.x", &["x", "x"]);
        assert!(spec.keys.is_empty());
        assert!(spec.ordered);
        let spec = OrderSpec::from_sql("select a from t order by b, a", &["a"]);
        assert!(spec.keys.is_empty());
        assert_eq!(spec.unresolved.as_deref(), Some("b"));
    }

    #[test]
    fn strings_comments_and_statements() {
        let sql = "select a, b from t where s = 'order by b' -- order by b\n\
                   /* order by b */ order by a;\n\
                   select a, b from t order by b limit 7;  ";
        let spec = OrderSpec::from_sql(sql, &["a", "b"]);
        assert_eq!(keys(&spec), vec![(1, false, U)]);
        assert_eq!(spec.limit, Some(7));
        let spec = OrderSpec::from_sql("select a from t where s = 'it''s' order by a", &["a"]);
        assert_eq!(keys(&spec), vec![(0, false, U)]);
    }

    #[test]
    fn union_order_by_offset_fetch_and_all() {
        let sql = "select a from t union all select a from u order by a offset 5 limit 10";
        let spec = OrderSpec::from_sql(sql, &["a"]);
        assert_eq!(keys(&spec), vec![(0, false, U)]);
        assert_eq!((spec.limit, spec.offset), (Some(10), Some(5)));
        let spec =
            OrderSpec::from_sql("select a from t order by a fetch first 3 rows only", &["a"]);
        assert_eq!(spec.limit, Some(3));
        let spec = OrderSpec::from_sql("select a, b from t order by all desc", &["a", "b"]);
        assert_eq!(keys(&spec), vec![(0, true, U), (1, true, U)]);
    }

    #[test]
    fn garbage_never_panics() {
        for sql in [
            "",
            "order",
            "order by",
            "order by ,,, limit",
            ")))) order by a ((((",
            "select 'unterminated order by a",
            "select \"x order by 1",
            "/* open comment order by 1",
            "order by 99999999999999999999999999 limit -1",
            "órder bý ñ, \u{1F600} limit 1e5",
            ";;;",
        ] {
            let _ = OrderSpec::from_sql(sql, &["a", "ñ"]);
        }
        let spec = OrderSpec::from_sql(")))) order by a, (b", &["a", "b"]);
        assert_eq!(keys(&spec), vec![(0, false, U)]);
    }

    #[test]
    fn serde_round_trip() {
        let spec = OrderSpec::from_sql(
            "select a, b from t order by b desc nulls last, a limit 3",
            &["a", "b"],
        );
        let json = serde_json::to_string(&spec).expect("serialises");
        let back: OrderSpec = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, spec);
    }
}
