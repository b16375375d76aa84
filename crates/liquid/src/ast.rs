//! The compiled template: nodes and expressions, immutable after parsing so that one parse
//! can be rendered by many threads at once.

use std::sync::Arc;

use crate::filters::FilterFn;
use crate::value::Value;

#[derive(Debug)]
pub(crate) enum Node {
    Text(Box<str>),
    Output(Box<Output>),
    Assign(Arc<str>, Box<Output>),
    Capture(Arc<str>, Vec<Node>),
    If(Box<If>),
    Case(Box<Case>),
    For(Box<ForLoop>),
    Tablerow(Box<ForLoop>),
    Break,
    Continue,
    Cycle(Box<Cycle>),
    Increment(Arc<str>),
    Decrement(Arc<str>),
    Include(Box<Include>),
    IfChanged(Vec<Node>),
    /// Nodes with no output of their own, kept only so blank-block detection sees them.
    Nothing,
}

#[derive(Debug)]
pub(crate) struct Output {
    pub expr: Expr,
    pub filters: Vec<FilterCall>,
    /// 1-based, for render errors.
    pub line: u32,
}

#[derive(Debug)]
pub(crate) struct FilterCall {
    pub name: &'static str,
    pub func: FilterFn,
    pub args: Vec<Expr>,
    pub kwargs: Vec<(Arc<str>, Expr)>,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Lit(Value),
    Path(Box<Path>),
    Range(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub root: Segment,
    pub rest: Vec<Segment>,
}

#[derive(Debug, Clone)]
pub(crate) enum Segment {
    Key(Arc<str>),
    Index(i64),
    Dynamic(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Contains,
}

#[derive(Debug)]
pub(crate) enum Cond {
    Or(Box<Cond>, Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Cmp(Expr, Op, Expr),
    Expr(Expr),
}

#[derive(Debug)]
pub(crate) struct If {
    /// `unless`: the first condition is negated.
    pub negate_first: bool,
    pub branches: Vec<(Cond, Vec<Node>)>,
    pub otherwise: Option<Vec<Node>>,
}

#[derive(Debug)]
pub(crate) enum CaseArm {
    When(Vec<Expr>, Vec<Node>),
    Else(Vec<Node>),
}

#[derive(Debug)]
pub(crate) struct Case {
    pub subject: Expr,
    pub arms: Vec<CaseArm>,
}

#[derive(Debug)]
pub(crate) enum Offset {
    Expr(Expr),
    Continue,
}

#[derive(Debug)]
pub(crate) struct ForLoop {
    /// 1-based, for render errors.
    pub line: u32,
    pub var: Arc<str>,
    /// `var-collection`, Shopify's `forloop.name`, also the key `offset: continue` uses.
    pub name: Arc<str>,
    pub collection: Expr,
    pub limit: Option<Expr>,
    pub offset: Option<Offset>,
    pub cols: Option<Expr>,
    pub reversed: bool,
    pub body: Vec<Node>,
    pub otherwise: Option<Vec<Node>>,
}

#[derive(Debug)]
pub(crate) struct Cycle {
    pub group: Option<Expr>,
    /// The items' source, which names an unnamed cycle.
    pub key: Arc<str>,
    pub items: Vec<Expr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IncludeKind {
    Include,
    Render,
}

#[derive(Debug)]
pub(crate) struct Include {
    pub kind: IncludeKind,
    pub name: Expr,
    /// `with x` (false) or `for x` (true).
    pub bind: Option<(Expr, bool)>,
    pub alias: Option<Arc<str>>,
    pub args: Vec<(Arc<str>, Expr)>,
}
