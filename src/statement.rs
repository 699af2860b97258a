//! Splitting a migration script into the statements Postgres will run.
//!
//! The harness sends a script one statement at a time (as `psql -f` does) so
//! that a failure can be pinned to the statement, and through Postgres'
//! error position to a line and column of the file. The lexer knows what can
//! hide a semicolon: quotes, dollar quotes, comments and SQL-standard
//! `BEGIN ATOMIC ... END` function bodies.

/// One statement of a script: its text and where it sits in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// Byte offset of the first character of the statement in the script.
    pub start: usize,
    /// The statement's text, from its first token up to and including the
    /// terminating semicolon when there is one. For a psql meta-command,
    /// the command line (`\set ON_ERROR_STOP on`).
    pub text: &'a str,
    /// For `COPY ... FROM stdin`: the inline data that follows it in the
    /// script, up to (not including) the `\.` line, as psql sends it.
    pub copy_data: Option<&'a str>,
    /// Whether this is a psql meta-command (a line starting with `\`)
    /// rather than SQL.
    pub meta: bool,
}

impl Statement<'_> {
    /// The psql meta-command's name (`\set` -> `set`), for a meta-command.
    pub fn meta_command(&self) -> Option<&str> {
        if !self.meta {
            return None;
        }
        let name = self.text.trim_start_matches('\\');
        Some(name.split(|c: char| c.is_whitespace()).next().unwrap_or(""))
    }

    /// Whether psql would run this meta-command with no effect on the
    /// database (output settings, echo, pg_dump's `\restrict` guard), so
    /// the harness can pass over it.
    pub fn is_harmless_meta(&self) -> bool {
        matches!(
            self.meta_command(),
            Some(
                "echo"
                    | "qecho"
                    | "warn"
                    | "timing"
                    | "pset"
                    | "a"
                    | "t"
                    | "x"
                    | "H"
                    | "C"
                    | "f"
                    | "o"
                    | "restrict"
                    | "unrestrict"
                    | "encoding"
                    | "q"
                    | "quit"
                    | "g"
                    | "gx"
            )
        ) || self.is_on_error_stop()
    }

    fn is_on_error_stop(&self) -> bool {
        let words: Vec<&str> = self.text.split_whitespace().collect();
        matches!(
            words.as_slice(),
            ["\\set", "ON_ERROR_STOP", ..] | ["\\set", "VERBOSITY", ..] | ["\\set", "ECHO", ..]
        )
    }

    /// The statement's first keyword, lower-cased (`create`, `begin`, ...).
    pub fn keyword(&self) -> String {
        first_words(self.text, 1)
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Whether the statement starts, ends or aborts a transaction block:
    /// a script holding one manages its own transaction.
    pub fn is_transaction_control(&self) -> bool {
        let words = first_words(self.text, 2);
        let first = words.first().map(String::as_str).unwrap_or("");
        let second = words.get(1).map(String::as_str).unwrap_or("");
        match first {
            "commit" | "rollback" | "abort" => true,
            // `end` alone ends a transaction; `begin` alone (or `begin work`,
            // `begin transaction`, `begin isolation ...`) starts one.
            "end" | "begin" => !matches!(second, "atomic"),
            "start" => second == "transaction",
            _ => false,
        }
    }
}

/// Lower-cased first `n` words of a statement, skipping comments.
fn first_words(text: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut lexer = Lexer::new(text);
    while words.len() < n {
        match lexer.next_token() {
            Some(Token::Word(w)) => words.push(w.to_ascii_lowercase()),
            Some(Token::Other) | Some(Token::Semicolon) | None => break,
            Some(_) => continue,
        }
    }
    words
}

/// Splits `sql` into statements. Empty statements (only whitespace,
/// comments or a lone semicolon) are dropped. Text after the last semicolon
/// that holds a statement is returned as a final statement.
///
/// ```
/// let stmts = pgharness::statement::split("select 1; -- x\nselect ';';");
/// assert_eq!(stmts.len(), 2);
/// assert_eq!(stmts[1].text, "select ';';");
/// ```
/// What [`split`] knows of the statement it is in.
#[derive(Default)]
struct Scan {
    /// Tracks `CREATE ... FUNCTION|PROCEDURE ... BEGIN ATOMIC ... END`:
    /// inside such a body semicolons do not end the statement.
    is_routine: bool,
    word_count: usize,
    prev_word: String,
    /// `COPY ... FROM stdin`: its data follows the statement in the script.
    first_word: String,
    from_stdin: bool,
}

pub fn split(sql: &str) -> Vec<Statement<'_>> {
    let mut out = Vec::new();
    let mut lexer = Lexer::new(sql);
    let mut start: Option<usize> = None;
    let mut scan = Scan::default();
    let mut depth = 0usize;
    loop {
        let token_start = lexer.skip_trivia();
        // A psql meta-command: a backslash outside quotes, running to the
        // end of its line. In the middle of a statement it also ends the
        // statement (`\g` sends the buffer, as `;` does).
        if lexer.peek(0) == Some(b'\\') {
            if let Some(s) = start.take() {
                let text = sql[s..token_start].trim_end();
                if !text.is_empty() {
                    out.push(Statement {
                        start: s,
                        text,
                        copy_data: None,
                        meta: false,
                    });
                }
                scan = Scan::default();
            }
            let end = sql[token_start..]
                .find('\n')
                .map_or(sql.len(), |i| token_start + i);
            out.push(Statement {
                start: token_start,
                text: sql[token_start..end].trim_end(),
                copy_data: None,
                meta: true,
            });
            lexer.pos = end;
            continue;
        }
        let Some(token) = lexer.next_token() else {
            break;
        };
        match token {
            Token::Semicolon if depth == 0 => {
                if let Some(s) = start.take() {
                    let text = &sql[s..lexer.pos];
                    let copy_data = if scan.from_stdin && scan.first_word == "copy" {
                        let data = lexer.copy_data();
                        Some(data)
                    } else {
                        None
                    };
                    out.push(Statement {
                        start: s,
                        text,
                        copy_data,
                        meta: false,
                    });
                }
                scan = Scan::default();
            }
            Token::Semicolon => {}
            Token::Word(w) => {
                start.get_or_insert(token_start);
                let w = w.to_ascii_lowercase();
                scan.word_count += 1;
                if scan.word_count <= 6 && (w == "function" || w == "procedure") {
                    scan.is_routine = true;
                }
                if scan.word_count == 1 {
                    scan.first_word = w.clone();
                }
                if scan.prev_word == "from" && w == "stdin" {
                    scan.from_stdin = true;
                }
                if scan.is_routine {
                    match w.as_str() {
                        "atomic" if scan.prev_word == "begin" => depth += 1,
                        "case" if depth > 0 => depth += 1,
                        "end" if depth > 0 => depth -= 1,
                        _ => {}
                    }
                }
                scan.prev_word = w;
            }
            Token::Quoted | Token::Param | Token::Other => {
                start.get_or_insert(token_start);
            }
        }
    }
    if let Some(s) = start {
        let text = sql[s..].trim_end();
        if !text.is_empty() {
            out.push(Statement {
                start: s,
                text,
                copy_data: None,
                meta: false,
            });
        }
    }
    out
}

/// The first statement that opens a transaction block the script never
/// closes (`BEGIN` without a later `COMMIT`/`ROLLBACK`/`END`): psql rolls
/// such a transaction back when the script ends, silently undoing it.
pub fn unclosed_begin<'a>(statements: &[Statement<'a>]) -> Option<Statement<'a>> {
    let mut open: Option<&Statement<'a>> = None;
    for stmt in statements {
        if !stmt.is_transaction_control() {
            continue;
        }
        match stmt.keyword().as_str() {
            "begin" | "start" => {
                open.get_or_insert(stmt);
            }
            _ => open = None,
        }
    }
    open.cloned()
}

/// Byte ranges of the positional parameters (`$1`, `$2`, ...) of `sql`,
/// outside quotes, dollar quotes and comments.
///
/// ```
/// let sql = "select $1, '$2' -- $3\n, $$ $4 $$, $5";
/// let params: Vec<&str> = pgharness::statement::parameters(sql).iter().map(|&(s, e)| &sql[s..e]).collect();
/// assert_eq!(params, ["$1", "$5"]);
/// ```
pub fn parameters(sql: &str) -> Vec<(usize, usize)> {
    let mut lexer = Lexer::new(sql);
    let mut out = Vec::new();
    loop {
        let start = lexer.skip_trivia();
        match lexer.next_token() {
            None => return out,
            Some(Token::Param) => out.push((start, lexer.pos)),
            Some(_) => {}
        }
    }
}

/// Whether a script holds no statement at all (empty, blank or comments).
pub fn is_blank(sql: &str) -> bool {
    split(sql).is_empty()
}

/// Converts a byte offset in `text` to a 1-based (line, column) pair, the
/// column counted in characters.
pub fn line_col(text: &str, byte_offset: usize) -> (usize, usize) {
    let offset = byte_offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

/// Byte offset of the `n`-th character (1-based, as Postgres reports error
/// positions) of `text`.
pub fn char_position_to_byte(text: &str, position: usize) -> usize {
    text.char_indices()
        .nth(position.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

enum Token<'a> {
    Word(&'a str),
    Quoted,
    Semicolon,
    Param,
    Other,
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// Skips whitespace and comments; returns the position of what follows.
    fn skip_trivia(&mut self) -> usize {
        loop {
            match self.peek(0) {
                Some(b) if b.is_ascii_whitespace() => self.pos += 1,
                Some(b'-') if self.peek(1) == Some(b'-') => {
                    while let Some(b) = self.peek(0) {
                        if b == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                Some(b'/') if self.peek(1) == Some(b'*') => {
                    // Postgres block comments nest.
                    self.pos += 2;
                    let mut nesting = 1;
                    while nesting > 0 {
                        match (self.peek(0), self.peek(1)) {
                            (None, _) => break,
                            (Some(b'/'), Some(b'*')) => {
                                nesting += 1;
                                self.pos += 2;
                            }
                            (Some(b'*'), Some(b'/')) => {
                                nesting -= 1;
                                self.pos += 2;
                            }
                            _ => self.pos += 1,
                        }
                    }
                }
                _ => return self.pos,
            }
        }
    }

    fn next_token(&mut self) -> Option<Token<'a>> {
        self.skip_trivia();
        let b = self.peek(0)?;
        let start = self.pos;
        match b {
            b';' => {
                self.pos += 1;
                Some(Token::Semicolon)
            }
            b'\'' => {
                self.quoted(b'\'', false);
                Some(Token::Quoted)
            }
            b'"' => {
                self.quoted(b'"', false);
                Some(Token::Quoted)
            }
            b'e' | b'E' if self.peek(1) == Some(b'\'') => {
                self.pos += 1;
                self.quoted(b'\'', true);
                Some(Token::Quoted)
            }
            b'$' => {
                if let Some(tag_len) = self.dollar_tag() {
                    let tag = &self.src[start..start + tag_len];
                    self.pos += tag_len;
                    match self.src[self.pos..].find(tag) {
                        Some(end) => self.pos += end + tag_len,
                        None => self.pos = self.bytes.len(),
                    }
                    Some(Token::Quoted)
                } else {
                    // A parameter like `$1`.
                    self.pos += 1;
                    while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                        self.pos += 1;
                    }
                    Some(if self.pos > start + 1 {
                        Token::Param
                    } else {
                        Token::Other
                    })
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while self.peek(0).is_some_and(|c| {
                    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
                }) {
                    self.pos += 1;
                }
                Some(Token::Word(&self.src[start..self.pos]))
            }
            _ => {
                // Advance one whole character.
                let len = self.src[self.pos..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                self.pos += len;
                Some(Token::Other)
            }
        }
    }

    /// After `COPY ... FROM stdin;`: consumes the rest of the line, then the
    /// data lines up to a line that is `\.` (or the end of the script), and
    /// returns the data as psql would send it.
    fn copy_data(&mut self) -> &'a str {
        let rest = &self.src[self.pos..];
        let data_start = self.pos + rest.find('\n').map_or(rest.len(), |i| i + 1);
        let mut line_start = data_start;
        while line_start < self.bytes.len() {
            let line_end = self.src[line_start..]
                .find('\n')
                .map_or(self.bytes.len(), |i| line_start + i);
            if self.src[line_start..line_end].trim_end_matches('\r') == "\\." {
                self.pos = line_end;
                return &self.src[data_start..line_start];
            }
            line_start = line_end + 1;
        }
        self.pos = self.bytes.len();
        &self.src[data_start.min(self.bytes.len())..]
    }

    /// Consumes a quoted string or identifier; a doubled quote is an escaped
    /// quote, and in `E'...'` strings a backslash escapes the next byte.
    fn quoted(&mut self, quote: u8, backslash_escapes: bool) {
        self.pos += 1;
        while let Some(b) = self.peek(0) {
            if backslash_escapes && b == b'\\' {
                self.pos += 2;
                continue;
            }
            self.pos += 1;
            if b == quote {
                if self.peek(0) == Some(quote) {
                    self.pos += 1;
                    continue;
                }
                return;
            }
        }
        self.pos = self.bytes.len();
    }

    /// Length of a dollar-quote opening tag (`$$`, `$body$`) at the current
    /// position, if there is one.
    fn dollar_tag(&self) -> Option<usize> {
        let mut i = 1;
        while let Some(c) = self.peek(i) {
            if c == b'$' {
                return Some(i + 1);
            }
            let ok = if i == 1 {
                c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
            } else {
                c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
            };
            if !ok {
                return None;
            }
            i += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "create table a (x text default ';');\n-- c; c\n/* a; /* nested; */ b; */\ninsert into a values (E'\\';'), ($$;$$), ($tag$ $$; $tag$);\nselect \"se;mi\" from a";
        assert_eq!(
            texts(sql),
            vec![
                "create table a (x text default ';');",
                "insert into a values (E'\\';'), ($$;$$), ($tag$ $$; $tag$);",
                "select \"se;mi\" from a",
            ]
        );
    }

    #[test]
    fn statement_start_skips_leading_comments() {
        let sql = "-- header\n\n  select 1;";
        let stmts = split(sql);
        assert_eq!(stmts.len(), 1);
        assert_eq!(stmts[0].start, sql.find("select").unwrap());
    }

    #[test]
    fn begin_atomic_bodies_keep_their_semicolons() {
        let sql = "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end;\nselect 2;";
        assert_eq!(
            texts(sql),
            vec![
                "create function f() returns int language sql begin atomic select 1; select case when true then 2 end; end;",
                "select 2;",
            ]
        );
    }

    #[test]
    fn plpgsql_blocks_are_one_statement() {
        let sql = "do $$ begin perform 1; end $$;\nbegin;\ncommit;";
        let stmts = split(sql);
        assert_eq!(stmts.len(), 3);
        assert!(!stmts[0].is_transaction_control());
        assert!(stmts[1].is_transaction_control());
        assert!(stmts[2].is_transaction_control());
    }

    #[test]
    fn blank_scripts() {
        assert!(is_blank(""));
        assert!(is_blank("-- only a comment\n/* and another */\n;\n"));
        assert!(!is_blank("select 1"));
    }

    #[test]
    fn positions_map_to_lines_and_character_columns() {
        let text = "ab\ncdé\nfg";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        let g = text.find('g').unwrap();
        assert_eq!(line_col(text, g), (3, 2));
        // Postgres positions count characters: the 7th character is `\n`
        // after `é` (a two-byte character).
        assert_eq!(char_position_to_byte(text, 7), text.find("\nfg").unwrap());
    }
}
