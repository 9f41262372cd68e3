//! A YAML 1.2 reader that keeps the position of every node, so that every rule and scenario error
//! can name its file, line and column.
//!
//! The tree is deliberately plain: scalars keep their source text (money is never routed through a
//! float), and [`Node::to_value`] converts to a `serde_yaml::Value` for typed deserialisation once
//! the schema has accepted the document.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Line and column of a node, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A parsed YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// Where it starts.
    pub pos: Pos,
}

/// The shapes a node can take.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`, `~` or an empty value.
    Null,
    /// A scalar and whether it was written plain (unquoted): only plain scalars are numbers or booleans.
    Scalar {
        /// The scalar's text.
        text: String,
        /// Unquoted.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in source order; keys are scalars.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What it expected.
    pub message: String,
}

/// Upper bound on nodes produced by one document, aliases expanded (guards against alias bombs).
const MAX_NODES: usize = 2_000_000;

impl Node {
    /// The scalar text when the node is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The entries when the node is a map.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items when the node is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Look up a map key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short description of the node's shape, for "found …" messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "null".into(),
            Kind::Scalar { text, .. } => {
                let mut t: String = text.chars().take(40).collect();
                if text.chars().count() > 40 {
                    t.push('…');
                }
                format!("`{t}`")
            }
            Kind::Seq(_) => "a list".into(),
            Kind::Map(_) => "a map".into(),
        }
    }

    /// Convert to a `serde_yaml::Value`. Plain `true`/`false` become booleans and plain integers
    /// numbers; every other scalar stays a string (decimals included, so money stays exact).
    pub fn to_value(&self) -> serde_yaml::Value {
        use serde_yaml::Value;
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Scalar { text, plain } => {
                if *plain {
                    match text.as_str() {
                        "true" => return Value::Bool(true),
                        "false" => return Value::Bool(false),
                        "null" | "~" => return Value::Null,
                        _ => {}
                    }
                    if let Ok(i) = text.parse::<i64>() {
                        return Value::Number(i.into());
                    }
                }
                Value::String(text.clone())
            }
            Kind::Seq(items) => Value::Sequence(items.iter().map(Node::to_value).collect()),
            Kind::Map(entries) => Value::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_value_key(), v.to_value()))
                    .collect(),
            ),
        }
    }

    fn to_value_key(&self) -> serde_yaml::Value {
        match &self.kind {
            Kind::Scalar { text, .. } => serde_yaml::Value::String(text.clone()),
            _ => self.to_value(),
        }
    }
}

/// Parse every document of a YAML stream. A stream with no document yields an empty vector.
pub fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        pos: Pos {
            line: e.marker().line(),
            col: e.marker().col(),
        },
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.docs)
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    error: Option<SyntaxError>,
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

fn pos(mark: &Marker) -> Pos {
    Pos {
        line: mark.line(),
        col: mark.col() + 1,
    }
}

fn count(n: &Node) -> usize {
    match &n.kind {
        Kind::Seq(s) => 1 + s.iter().map(count).sum::<usize>(),
        Kind::Map(m) => 1 + m.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>(),
        _ => 1,
    }
}

impl Builder {
    fn fail(&mut self, at: Pos, message: String) {
        if self.error.is_none() {
            self.error = Some(SyntaxError { pos: at, message });
        }
    }

    fn push(&mut self, node: Node, anchor: usize) {
        if self.error.is_some() {
            return;
        }
        self.nodes += count(&node);
        if self.nodes > MAX_NODES {
            self.fail(
                node.pos,
                format!("document too large (more than {MAX_NODES} nodes)"),
            );
            return;
        }
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq(seq, _)) => {
                if let Kind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => {
                    if !matches!(node.kind, Kind::Scalar { .. }) {
                        let at = node.pos;
                        self.fail(at, "map keys must be plain text".into());
                        return;
                    }
                    *pending = Some(node);
                }
                Some(key) => {
                    if let Kind::Map(entries) = &mut map.kind {
                        if let Some((first, _)) =
                            entries.iter().find(|(k, _)| k.as_str() == key.as_str())
                        {
                            let (at, first_at) = (key.pos, first.pos);
                            let name = key.as_str().unwrap_or_default().to_string();
                            self.fail(at, format!("duplicate key `{name}` (first at {first_at})"));
                            return;
                        }
                        entries.push((key, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = pos(&mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = matches!(style, TScalarStyle::Plain) && tag.is_none();
                let kind = if plain && (text.is_empty() || text == "~" || text == "null") {
                    Kind::Null
                } else {
                    Kind::Scalar { text, plain }
                };
                self.push(Node { kind, pos: at }, anchor);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(
                Node {
                    kind: Kind::Seq(Vec::new()),
                    pos: at,
                },
                anchor,
            )),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(
                Node {
                    kind: Kind::Map(Vec::new()),
                    pos: at,
                },
                anchor,
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(node, anchor)) => self.push(node, anchor),
                Some(Frame::Map(mut node, anchor, _)) => {
                    // A block map's start event is reported at its first value; its first key is
                    // where a reader looks.
                    if let Kind::Map(entries) = &node.kind {
                        if let Some((k, _)) = entries.first() {
                            node.pos = node.pos.min(k.pos);
                        }
                    }
                    self.push(node, anchor)
                }
                None => self.fail(at, "unbalanced collection".into()),
            },
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(mut node) => {
                    node.pos = at;
                    self.push(node, 0);
                }
                None => self.fail(at, "alias to an unknown anchor".into()),
            },
            Event::DocumentEnd => {}
            Event::DocumentStart | Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse("a: 1\nb:\n  - x\n  - 'y'\n").unwrap();
        let b = docs[0].get("b").unwrap();
        let items = b.as_seq().unwrap();
        assert_eq!(items[0].pos, Pos { line: 3, col: 5 });
        assert_eq!(
            items[1].kind,
            Kind::Scalar {
                text: "y".into(),
                plain: false
            }
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2);
        assert!(err.message.contains("duplicate key `a`"));
    }

    #[test]
    fn yaml_1_2_keeps_on_and_yes_as_text() {
        let v = parse("a: on\nb: yes\nc: true\nd: 1.10\n").unwrap()[0].to_value();
        assert_eq!(v["a"], serde_yaml::Value::String("on".into()));
        assert_eq!(v["b"], serde_yaml::Value::String("yes".into()));
        assert_eq!(v["c"], serde_yaml::Value::Bool(true));
        assert_eq!(v["d"], serde_yaml::Value::String("1.10".into()));
    }
}
