//! `${{ … }}` expressions: references (`inputs.x`, `steps.a.outputs.b`, …), literals,
//! `==`, `!=`, `<`, `<=`, `>`, `>=` (numbers and timestamps), `!`, `&&`, `||`,
//! parentheses, and GitHub Actions' `contains`, `startsWith`, `endsWith` (ignoring
//! case, as there). Deliberately small: a runbook is read
//! under stress, and anything cleverer belongs in a script.

use std::fmt;

/// Why an expression cannot be read, or cannot be evaluated on the values it meets; its
/// words are what the diagnostics and the step's failure say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The text is not an expression (an unclosed quote, a stray operator, …).
    #[error("{0}")]
    Syntax(String),
    /// Well formed, but not on these values (a name with no value, text that cannot be
    /// ordered).
    #[error("{0}")]
    Value(String),
}

/// A parser's complaint is about the text.
impl From<String> for ExprError {
    fn from(why: String) -> ExprError {
        ExprError::Syntax(why)
    }
}

impl From<&str> for ExprError {
    fn from(why: &str) -> ExprError {
        ExprError::Syntax(why.to_string())
    }
}

/// Where an expression's failure becomes a step's or a diagnostic's words.
impl From<ExprError> for String {
    fn from(e: ExprError) -> String {
        e.to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Ref(Vec<String>),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Not(Box<Expr>),
    Eq(Box<Expr>, Box<Expr>),
    Ne(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// `<`, `<=`, `>`, `>=`: numbers with numbers, timestamps with timestamps; anything
    /// else is an error, never a quiet `false` (a gate must not pass by accident).
    Order(Order, Box<Expr>, Box<Expr>),
    /// `contains(a, b)`, `startsWith(a, b)`, `endsWith(a, b)`.
    Call(Func, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Contains,
    StartsWith,
    EndsWith,
}

impl Func {
    const ALL: [(&'static str, Func); 3] =
        [("contains", Func::Contains), ("startswith", Func::StartsWith), ("endswith", Func::EndsWith)];

    /// Names are matched ignoring case, as GitHub Actions does.
    fn named(name: &str) -> Option<Func> {
        let low = name.to_ascii_lowercase();
        Self::ALL.iter().find(|(n, _)| *n == low).map(|(_, f)| *f)
    }

    fn holds(self, a: &Val, b: &Val) -> bool {
        let (a, b) = (a.to_string().to_lowercase(), b.to_string().to_lowercase());
        match self {
            Func::Contains => a.contains(&b),
            Func::StartsWith => a.starts_with(&b),
            Func::EndsWith => a.ends_with(&b),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Order {
    pub fn symbol(self) -> &'static str {
        match self {
            Order::Lt => "<",
            Order::Le => "<=",
            Order::Gt => ">",
            Order::Ge => ">=",
        }
    }
    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Order::Lt => o == Less,
            Order::Le => o != Greater,
            Order::Gt => o == Greater,
            Order::Ge => o != Less,
        }
    }
}

/// A value an expression yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

impl Val {
    pub fn truthy(&self) -> bool {
        match self {
            Val::Bool(b) => *b,
            Val::Null => false,
            Val::Str(s) => !s.is_empty() && s != "false",
            Val::Num(n) => *n != 0.0,
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Str(s) => f.write_str(s),
            Val::Num(n) => write!(f, "{n}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Null => Ok(()),
        }
    }
}

impl Expr {
    /// Every reference in the expression, in order.
    pub fn refs(&self) -> Vec<&[String]> {
        let mut out = Vec::new();
        self.walk(&mut out);
        out
    }
    fn walk<'a>(&'a self, out: &mut Vec<&'a [String]>) {
        match self {
            Expr::Ref(path) => out.push(path),
            Expr::Not(a) => a.walk(out),
            Expr::Eq(a, b)
            | Expr::Ne(a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Order(_, a, b)
            | Expr::Call(_, a, b) => {
                a.walk(out);
                b.walk(out);
            }
            _ => {}
        }
    }

    pub fn eval(&self, lookup: &dyn Fn(&[String]) -> Result<Val, ExprError>) -> Result<Val, ExprError> {
        Ok(match self {
            Expr::Ref(path) => lookup(path)?,
            Expr::Str(s) => Val::Str(s.clone()),
            Expr::Num(n) => Val::Num(*n),
            Expr::Bool(b) => Val::Bool(*b),
            Expr::Null => Val::Null,
            Expr::Not(a) => Val::Bool(!a.eval(lookup)?.truthy()),
            Expr::Eq(a, b) => Val::Bool(loose_eq(&a.eval(lookup)?, &b.eval(lookup)?)),
            Expr::Ne(a, b) => Val::Bool(!loose_eq(&a.eval(lookup)?, &b.eval(lookup)?)),
            Expr::And(a, b) => Val::Bool(a.eval(lookup)?.truthy() && b.eval(lookup)?.truthy()),
            Expr::Or(a, b) => Val::Bool(a.eval(lookup)?.truthy() || b.eval(lookup)?.truthy()),
            Expr::Order(op, a, b) => Val::Bool(op.holds(compare(&a.eval(lookup)?, &b.eval(lookup)?, *op)?)),
            Expr::Call(f, a, b) => Val::Bool(f.holds(&a.eval(lookup)?, &b.eval(lookup)?)),
        })
    }
}

/// Orders two values as numbers, else as RFC 3339 timestamps; text that is neither
/// cannot be ordered and says so.
fn compare(a: &Val, b: &Val, op: Order) -> Result<std::cmp::Ordering, ExprError> {
    let num = |v: &Val| match v {
        Val::Num(n) => Some(*n),
        Val::Str(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    };
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return x.partial_cmp(&y).ok_or_else(|| ExprError::Value(format!("`{a}` and `{b}` cannot be compared")));
    }
    let time = |v: &Val| match v {
        Val::Str(s) => super::time::parse_timestamp(s).ok(),
        _ => None,
    };
    if let (Some(x), Some(y)) = (time(a), time(b)) {
        return Ok(x.cmp(&y));
    }
    let show = |v: &Val| match v {
        Val::Null => "null".to_string(),
        other => format!("`{other}`"),
    };
    Err(ExprError::Value(format!(
        "{} {} {} compares neither two numbers nor two timestamps",
        show(a),
        op.symbol(),
        show(b)
    )))
}

/// Inputs arrive as text, so `"3" == 3` and `"true" == true` hold.
fn loose_eq(a: &Val, b: &Val) -> bool {
    a == b || a.to_string() == b.to_string()
}

/// Text with `${{ }}` holes, as written in `with:`, `run:`, titles and instructions.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// The expression and its source text (with the braces), for error messages.
    Hole(Expr, String),
}

pub fn parse_template(text: &str) -> Result<Vec<Piece>, ExprError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("${{") {
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 3..];
        let close = after.find("}}").ok_or("`${{` is not closed with `}}`")?;
        let expr = parse(&after[..close])?;
        out.push(Piece::Hole(expr, rest[open..open + 3 + close + 2].to_string()));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

/// `when:` and `until:` take a bare expression or one wrapped in `${{ }}`.
pub fn parse_condition(text: &str) -> Result<Expr, ExprError> {
    let t = text.trim();
    match t.strip_prefix("${{").and_then(|r| r.strip_suffix("}}")) {
        Some(inner) => parse(inner),
        None => parse(t),
    }
}

const MAX_TOKENS: usize = 256;

pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let tokens = lex(src)?;
    if tokens.is_empty() {
        return Err("the expression is empty".into());
    }
    // Bounds the parser's recursion; a runbook condition is a handful of tokens.
    if tokens.len() > MAX_TOKENS {
        return Err(format!("the expression is longer than {MAX_TOKENS} tokens; move the logic into a script").into());
    }
    let mut p = P { t: &tokens, i: 0 };
    let e = p.or()?;
    match p.t.get(p.i) {
        None => Ok(e),
        Some(tok) => Err(format!("unexpected `{tok}`").into()),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(&'static str),
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => f.write_str(s),
            Tok::Str(s) => write!(f, "'{s}'"),
            Tok::Num(n) => write!(f, "{n}"),
            Tok::Op(o) => f.write_str(o),
        }
    }
}

fn lex(src: &str) -> Result<Vec<Tok>, ExprError> {
    let mut out = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '-' | '.')) {
                i += 1;
            }
            out.push(Tok::Ident(chars[s..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[s..i].iter().collect();
            out.push(Tok::Num(text.parse().map_err(|_| format!("`{text}` is not a number"))?));
        } else if c == '\'' || c == '"' {
            let s = i + 1;
            i = s;
            while i < chars.len() && chars[i] != c {
                i += 1;
            }
            if i >= chars.len() {
                return Err("a quoted string is not closed".into());
            }
            out.push(Tok::Str(chars[s..i].iter().collect()));
            i += 1;
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "==" => "==",
                "!=" => "!=",
                "&&" => "&&",
                "||" => "||",
                "<=" => "<=",
                ">=" => ">=",
                _ => match c {
                    '<' => "<",
                    '>' => ">",
                    '!' => "!",
                    '(' => "(",
                    ')' => ")",
                    ',' => ",",
                    _ => return Err(format!("unexpected character `{c}`").into()),
                },
            };
            i += op.len();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}

struct P<'a> {
    t: &'a [Tok],
    i: usize,
}

impl P<'_> {
    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.t.get(self.i), Some(Tok::Op(o)) if *o == op) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.and()?;
        while self.eat("||") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.cmp()?;
        while self.eat("&&") {
            e = Expr::And(Box::new(e), Box::new(self.cmp()?));
        }
        Ok(e)
    }
    fn cmp(&mut self) -> Result<Expr, ExprError> {
        let a = self.unary()?;
        if self.eat("==") {
            return Ok(Expr::Eq(Box::new(a), Box::new(self.unary()?)));
        }
        if self.eat("!=") {
            return Ok(Expr::Ne(Box::new(a), Box::new(self.unary()?)));
        }
        for (sym, op) in [("<=", Order::Le), (">=", Order::Ge), ("<", Order::Lt), (">", Order::Gt)] {
            if self.eat(sym) {
                return Ok(Expr::Order(op, Box::new(a), Box::new(self.unary()?)));
            }
        }
        Ok(a)
    }
    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, ExprError> {
        let tok = self.t.get(self.i).cloned().ok_or("the expression ends too early")?;
        self.i += 1;
        Ok(match tok {
            Tok::Op("(") => {
                let e = self.or()?;
                if !self.eat(")") {
                    return Err("a `(` is not closed".into());
                }
                e
            }
            Tok::Op(o) => return Err(format!("unexpected `{o}`").into()),
            Tok::Str(s) => Expr::Str(s),
            Tok::Num(n) => Expr::Num(n),
            Tok::Ident(w) => {
                match w.as_str() {
                    "true" => Expr::Bool(true),
                    "false" => Expr::Bool(false),
                    "null" => Expr::Null,
                    _ if self.eat("(") => {
                        let f = Func::named(&w).ok_or_else(|| {
                        format!("there is no function `{w}`; there are contains(a, b), startsWith(a, b) and endsWith(a, b)")
                    })?;
                        let a = self.or()?;
                        if !self.eat(",") {
                            return Err(format!("`{w}` takes two arguments: {w}(a, b)").into());
                        }
                        let b = self.or()?;
                        if !self.eat(")") {
                            return Err(format!("`{w}(` is not closed after its two arguments").into());
                        }
                        Expr::Call(f, Box::new(a), Box::new(b))
                    }
                    _ => {
                        let parts: Vec<String> = w.split('.').map(str::to_string).collect();
                        if parts.iter().any(String::is_empty) {
                            return Err(format!("`{w}` is not a valid reference").into());
                        }
                        Expr::Ref(parts)
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(path: &[String]) -> Result<Val, ExprError> {
        match path.join(".").as_str() {
            "inputs.mode" => Ok(Val::Str("full".into())),
            "inputs.n" => Ok(Val::Str("3".into())),
            "inputs.flag" => Ok(Val::Bool(true)),
            other => Err(ExprError::Value(format!("no {other}"))),
        }
    }

    /// A text that is no expression and an expression that fails on its values are two
    /// kinds of error: the first is the runbook's to fix, the second the run's to report.
    #[test]
    fn errors_say_whether_the_text_or_the_values_failed() {
        assert!(matches!(parse("'unclosed"), Err(ExprError::Syntax(_))));
        assert!(matches!(parse("a &&"), Err(ExprError::Syntax(_))));
        let e = parse("inputs.mode > 1").unwrap().eval(&lookup).unwrap_err();
        assert!(matches!(e, ExprError::Value(_)), "{e:?}");
        let e = parse("inputs.nothing == 1").unwrap().eval(&lookup).unwrap_err();
        assert_eq!(e, ExprError::Value("no inputs.nothing".into()));
    }

    /// Issue 30 (3): GitHub Actions' functions, names and comparison ignoring case.
    #[test]
    fn contains_starts_with_and_ends_with_as_in_github_actions() {
        let yes = |src: &str| parse(src).unwrap().eval(&lookup).unwrap() == Val::Bool(true);
        assert!(yes("contains(inputs.mode, 'UL')"));
        assert!(yes("startsWith(inputs.mode, 'fu') && endsWith(inputs.mode, 'll')"));
        assert!(yes("!contains(inputs.mode, 'x') || false"));
        assert!(yes("STARTSWITH('COMPLIANCE 30d', 'compliance')"));
        assert!(!yes("contains(inputs.mode, 'part')"));
        assert_eq!(parse("contains(inputs.mode, 'a')").unwrap().refs().len(), 1);
        assert!(parse("matches(inputs.mode, 'a')").unwrap_err().to_string().contains("no function `matches`"));
        assert!(parse("contains(inputs.mode)").unwrap_err().to_string().contains("two arguments"));
        assert!(parse("contains(inputs.mode, 'a'").is_err());
    }

    #[test]
    fn templates_split_text_and_holes() {
        let p = parse_template("s3://${{ inputs.bucket }}/x").unwrap();
        assert_eq!(p.len(), 3);
        assert!(
            matches!(&p[1], Piece::Hole(Expr::Ref(r), src) if r.join(".") == "inputs.bucket" && src == "${{ inputs.bucket }}")
        );
        assert!(parse_template("${{ inputs.x").is_err());
    }

    #[test]
    fn conditions_evaluate() {
        let t = |s: &str| parse_condition(s).unwrap().eval(&lookup).unwrap().truthy();
        assert!(t("inputs.mode == 'full'"));
        assert!(t("${{ inputs.n == 3 }}"));
        assert!(!t("!inputs.flag"));
        assert!(t("(inputs.mode != 'x') && (inputs.flag || false)"));
        assert!(parse_condition("inputs.mode ==").is_err());
        assert!(parse_condition("inputs..x").is_err());
        assert!(parse_condition("a = b").is_err());
    }

    #[test]
    fn order_compares_numbers_and_timestamps_and_refuses_the_rest() {
        let t = |s: &str| parse_condition(s).unwrap().eval(&lookup).map(|v| v.truthy());
        assert_eq!(t("inputs.n >= 3"), Ok(true));
        assert_eq!(t("inputs.n > 3"), Ok(false));
        assert_eq!(t("inputs.n < 10"), Ok(true), "numerically, not as text");
        assert_eq!(t("inputs.n <= 2.5"), Ok(false));
        assert_eq!(t("'2026-11-24T03:00:00Z' < '2026-11-24T04:00:00+01:00'"), Ok(false));
        assert_eq!(t("'2026-11-24T03:00:00Z' <= '2026-11-24T04:00:00+01:00'"), Ok(true));
        assert!(t("inputs.mode > 1").unwrap_err().to_string().contains("neither two numbers nor two timestamps"));
        assert!(t("null < 1").is_err(), "a missing value never passes a gate");
        assert_eq!(t("inputs.n >= 3 && inputs.mode == 'full'"), Ok(true));
    }

    #[test]
    fn refs_are_collected_with_hyphenated_ids() {
        let e = parse("steps.find-snapshot.outputs.snapshot != null").unwrap();
        assert_eq!(e.refs(), vec![["steps", "find-snapshot", "outputs", "snapshot"].map(String::from).as_slice()]);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        assert!(parse(&"!".repeat(100_000)).is_err());
        assert!(parse(&"(".repeat(100_000)).is_err());
    }
}
