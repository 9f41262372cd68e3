//! Rendered HTML → a tree of text blocks the PDF layout places (paragraphs, tables, rules).
//!
//! Only what a document template needs is understood; everything else is read as text:
//! - blocks: `h1`–`h6`, `p`, `div`, `li`, `address`, `section`, `header`, `footer`, … break
//!   paragraphs; `br` breaks a line; `hr` draws a rule; `class="page-break"` (or a
//!   `page-break-before` / `break-before` style) starts a new page;
//! - inline: `b`, `strong`, `th` and headings are bold; `small` and `class="small"` are smaller
//!   and grey, `class="muted"` is grey; `class="big"` is larger;
//! - alignment: `align="right|center"`, a `text-align` style, or a class `right` / `num` /
//!   `center` on a paragraph, a cell or a row; a body cell without one takes its column's header
//!   alignment;
//! - tables: `thead` rows are the header (bold, shaded, repeated on every page the table runs
//!   onto); `class="layout"` tables are borderless with equal columns; `class="right"` tables
//!   keep their natural width at the right margin; other tables span the page and give the spare
//!   width to their left-aligned (text) columns; `class="grand"` rows are bold with a rule above;
//!   `colspan` is honoured; tables may nest six deep (a nested table never breaks across pages;
//!   deeper ones are read as text);
//! - `style`, `script` are skipped; `title` becomes the running header and footer.

use html5gum::{DefaultEmitter, Token, Tokenizer};

use crate::metrics::Font;

/// Horizontal alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

/// The look of a run of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Style {
    pub font: Font,
    pub size: f32,
    pub grey: bool,
}

/// Text in one style.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub text: String,
    pub style: Style,
}

/// A paragraph: runs wrapped to the available width.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Para {
    pub runs: Vec<Run>,
    pub align: Option<Align>,
    /// Space above, in points, when the paragraph is not first in its container.
    pub space_before: f32,
    /// The style of an empty paragraph (a blank line from `<br><br>`).
    pub blank: Option<Style>,
}

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub blocks: Vec<Block>,
    pub align: Option<Align>,
    pub colspan: usize,
}

/// One table row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub cells: Vec<Cell>,
    pub grand: bool,
}

/// How a table takes the width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableMode {
    /// Full width, spare width to the left-aligned (text) columns.
    Grid,
    /// Full width, equal columns, no rules.
    Layout,
    /// Natural width at the right margin.
    Right,
}

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub head: Vec<Row>,
    pub body: Vec<Row>,
    pub mode: TableMode,
}

/// A block of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Para(Para),
    Table(Table),
    Rule,
    PageBreak,
}

/// The parsed document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub title: String,
    pub blocks: Vec<Block>,
}

/// Tables nested deeper than this are read as text.
const MAX_TABLE_DEPTH: usize = 6;

/// Body text size in points.
pub(crate) const BODY_SIZE: f32 = 9.0;

const BODY: Style = Style {
    font: Font::Regular,
    size: BODY_SIZE,
    grey: false,
};

/// What an open element contributes.
#[derive(Debug, Clone)]
struct Frame {
    tag: String,
    bold: bool,
    size: Option<f32>,
    grey: bool,
    align: Option<Align>,
    /// A cell boundary: alignment lookups for paragraphs stop here.
    cell: bool,
}

struct Flow {
    blocks: Vec<Block>,
    runs: Vec<Run>,
    pending_space: bool,
    /// The last thing flushed was a `<br>` on an empty line.
    space_before: f32,
}

impl Flow {
    fn new() -> Flow {
        Flow {
            blocks: Vec::new(),
            runs: Vec::new(),
            pending_space: false,
            space_before: 0.0,
        }
    }
}

struct TableBuilder {
    head: Vec<Row>,
    body: Vec<Row>,
    mode: TableMode,
    in_head: bool,
    row: Option<Row>,
    row_is_head: bool,
    cell: Option<(Option<Align>, usize)>,
}

enum Container {
    Flow(Flow),
    Table(TableBuilder),
}

struct Builder {
    stack: Vec<Container>,
    frames: Vec<Frame>,
    skip: Option<String>,
    title: String,
    in_title: bool,
}

fn attr(tag: &html5gum::StartTag<()>, name: &str) -> String {
    tag.attributes
        .get(name.as_bytes())
        .map(|v| String::from_utf8_lossy(&v.value).into_owned())
        .unwrap_or_default()
}

fn has_class(class: &str, name: &str) -> bool {
    class.split_ascii_whitespace().any(|c| c == name)
}

fn align_of(tag: &html5gum::StartTag<()>) -> Option<Align> {
    let class = attr(tag, "class");
    let style = attr(tag, "style").to_ascii_lowercase().replace(' ', "");
    let align = attr(tag, "align").to_ascii_lowercase();
    if align == "right"
        || style.contains("text-align:right")
        || has_class(&class, "right")
        || has_class(&class, "num")
    {
        Some(Align::Right)
    } else if align == "center"
        || style.contains("text-align:center")
        || has_class(&class, "center")
    {
        Some(Align::Center)
    } else if align == "left" || style.contains("text-align:left") || has_class(&class, "left") {
        Some(Align::Left)
    } else {
        None
    }
}

const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "address",
    "section",
    "header",
    "footer",
    "article",
    "main",
    "aside",
    "nav",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "body",
    "html",
    "caption",
    "figure",
    "pre",
];

fn heading_size(tag: &str) -> Option<f32> {
    match tag {
        "h1" => Some(20.0),
        "h2" => Some(14.0),
        "h3" => Some(11.0),
        "h4" | "h5" | "h6" => Some(BODY_SIZE),
        _ => None,
    }
}

fn space_before(tag: &str) -> f32 {
    match tag {
        "h1" => 4.0,
        "h2" => 10.0,
        "h3" => 8.0,
        "h4" | "h5" | "h6" => 6.0,
        "p" => 6.0,
        _ => 0.0,
    }
}

impl Builder {
    fn new() -> Builder {
        Builder {
            stack: vec![Container::Flow(Flow::new())],
            frames: Vec::new(),
            skip: None,
            title: String::new(),
            in_title: false,
        }
    }

    fn style(&self) -> Style {
        let mut style = BODY;
        for frame in &self.frames {
            if frame.bold {
                style.font = Font::Bold;
            }
            if let Some(size) = frame.size {
                style.size = size;
            }
            if frame.grey {
                style.grey = true;
            }
        }
        style
    }

    fn para_align(&self) -> Option<Align> {
        self.frames
            .iter()
            .rev()
            .take_while(|f| !f.cell)
            .find_map(|f| f.align)
    }

    fn flow(&mut self) -> Option<&mut Flow> {
        match self.stack.last_mut() {
            Some(Container::Flow(flow)) => Some(flow),
            _ => None,
        }
    }

    fn text(&mut self, text: &str) {
        if self.in_title {
            self.title.push_str(text);
            return;
        }
        if self.skip.is_some() {
            return;
        }
        let style = self.style();
        let Some(flow) = self.flow() else {
            return; // text between table tags
        };
        for c in text.chars() {
            if c.is_whitespace() && c != '\u{A0}' {
                if !flow.runs.is_empty() {
                    flow.pending_space = true;
                }
                continue;
            }
            let space = std::mem::take(&mut flow.pending_space);
            match flow.runs.last_mut() {
                Some(run) if run.style == style => {
                    if space {
                        run.text.push(' ');
                    }
                    run.text.push(c);
                }
                _ => {
                    if space {
                        if let Some(last) = flow.runs.last_mut() {
                            last.text.push(' ');
                        }
                    }
                    flow.runs.push(Run {
                        text: c.to_string(),
                        style,
                    });
                }
            }
        }
    }

    /// Ends the current paragraph; `blank` keeps an empty one (a `<br>` on an empty line).
    fn flush(&mut self, blank: bool) {
        let align = self.para_align();
        let style = self.style();
        let Some(flow) = self.flow() else {
            return;
        };
        flow.pending_space = false;
        if flow.runs.is_empty() {
            if blank {
                flow.blocks.push(Block::Para(Para {
                    runs: Vec::new(),
                    align,
                    space_before: 0.0,
                    blank: Some(style),
                }));
            }
            return;
        }
        let runs = std::mem::take(&mut flow.runs);
        let space = std::mem::take(&mut flow.space_before);
        flow.blocks.push(Block::Para(Para {
            runs,
            align,
            space_before: space,
            blank: None,
        }));
    }

    fn mark_space(&mut self, points: f32) {
        if let Some(flow) = self.flow() {
            if flow.runs.is_empty() {
                flow.space_before = flow.space_before.max(points);
            }
        }
    }

    fn table_depth(&self) -> usize {
        self.stack
            .iter()
            .filter(|c| matches!(c, Container::Table(_)))
            .count()
    }

    fn table(&mut self) -> Option<&mut TableBuilder> {
        match self.stack.last_mut() {
            Some(Container::Table(table)) => Some(table),
            _ => None,
        }
    }

    /// Closes the open cell (if the innermost container is a cell's flow inside a table).
    fn close_cell(&mut self) {
        if self.stack.len() >= 2 {
            if let Some(Container::Table(t)) = self.stack.get(self.stack.len() - 2) {
                if t.cell.is_none() {
                    return;
                }
            } else {
                return;
            }
            self.flush(false);
            if let Some(Container::Flow(flow)) = self.stack.pop() {
                if let Some(table) = self.table() {
                    if let Some((align, colspan)) = table.cell.take() {
                        let row = table.row.get_or_insert_with(|| Row {
                            cells: Vec::new(),
                            grand: false,
                        });
                        row.cells.push(Cell {
                            blocks: flow.blocks,
                            align,
                            colspan,
                        });
                    }
                }
            }
            // Drop the cell's style frames.
            if let Some(pos) = self.frames.iter().rposition(|f| f.cell) {
                self.frames.truncate(pos);
            }
        }
    }

    fn close_row(&mut self) {
        self.close_cell();
        if let Some(table) = self.table() {
            if let Some(row) = table.row.take() {
                if table.row_is_head {
                    table.head.push(row);
                } else {
                    table.body.push(row);
                }
            }
        }
    }

    fn close_table(&mut self) {
        self.close_row();
        if let Some(Container::Table(t)) = self.stack.last() {
            let _ = t;
            if let Some(Container::Table(t)) = self.stack.pop() {
                let table = Table {
                    head: t.head,
                    body: t.body,
                    mode: t.mode,
                };
                if let Some(flow) = self.flow() {
                    flow.blocks.push(Block::Table(table));
                }
            }
            if let Some(pos) = self.frames.iter().rposition(|f| f.tag == "table") {
                self.frames.truncate(pos);
            }
        }
    }

    fn push_frame(&mut self, tag: &str, start: &html5gum::StartTag<()>) {
        let class = attr(start, "class");
        let bold = matches!(tag, "b" | "strong" | "th") || heading_size(tag).is_some();
        let size = if tag == "small" || has_class(&class, "small") {
            Some(7.5)
        } else if has_class(&class, "big") {
            Some(11.0)
        } else {
            heading_size(tag)
        };
        let grey = tag == "small" || has_class(&class, "muted") || has_class(&class, "small");
        self.frames.push(Frame {
            tag: tag.to_string(),
            bold,
            size,
            grey,
            align: align_of(start),
            cell: matches!(tag, "td" | "th"),
        });
    }

    fn start(&mut self, start: &html5gum::StartTag<()>) {
        let tag = String::from_utf8_lossy(&start.name).to_ascii_lowercase();
        if self.skip.is_some() {
            return;
        }
        match tag.as_str() {
            "title" => {
                self.in_title = true;
                return;
            }
            "style" | "script" | "template" => {
                if !start.self_closing {
                    self.skip = Some(tag);
                }
                return;
            }
            "br" => {
                let blank = self.flow().is_some_and(|f| f.runs.is_empty());
                self.flush(blank);
                return;
            }
            "hr" => {
                self.flush(false);
                if let Some(flow) = self.flow() {
                    flow.blocks.push(Block::Rule);
                }
                return;
            }
            "img" | "meta" | "link" | "input" | "wbr" => return,
            _ => {}
        }
        let style = attr(start, "style").to_ascii_lowercase().replace(' ', "");
        let page_break = has_class(&attr(start, "class"), "page-break")
            || style.contains("page-break-before:always")
            || style.contains("break-before:page");
        match tag.as_str() {
            "table" if self.table_depth() >= MAX_TABLE_DEPTH => {
                // Deeper nesting is read as text: bounded layout work and recursion.
            }
            "table" => {
                self.flush(false);
                let class = attr(start, "class");
                let mode = if has_class(&class, "layout") {
                    TableMode::Layout
                } else if has_class(&class, "right") || attr(start, "align") == "right" {
                    TableMode::Right
                } else {
                    TableMode::Grid
                };
                self.frames.push(Frame {
                    tag: tag.clone(),
                    bold: false,
                    size: None,
                    grey: false,
                    align: None,
                    cell: true,
                });
                self.stack.push(Container::Table(TableBuilder {
                    head: Vec::new(),
                    body: Vec::new(),
                    mode,
                    in_head: false,
                    row: None,
                    row_is_head: false,
                    cell: None,
                }));
            }
            "thead" | "tbody" | "tfoot" => {
                self.close_row();
                if let Some(t) = self.table() {
                    t.in_head = tag == "thead";
                }
            }
            "tr" => {
                self.close_row();
                let grand = has_class(&attr(start, "class"), "grand");
                let row_align = align_of(start);
                if let Some(t) = self.table() {
                    t.row = Some(Row {
                        cells: Vec::new(),
                        grand,
                    });
                    t.row_is_head = t.in_head;
                    let _ = row_align;
                }
                // Row alignment and boldness are applied through a frame kept until the row ends.
                if let Some(pos) = self.frames.iter().rposition(|f| f.tag == "tr") {
                    let table_pos = self.frames.iter().rposition(|f| f.tag == "table");
                    if table_pos.is_some_and(|t| t < pos) {
                        self.frames.truncate(pos);
                    }
                }
                self.frames.push(Frame {
                    tag: tag.clone(),
                    bold: grand,
                    size: None,
                    grey: false,
                    align: row_align,
                    cell: false,
                });
            }
            "td" | "th" => {
                self.close_cell();
                let in_table = self.table().is_some();
                if !in_table {
                    return;
                }
                let colspan = attr(start, "colspan")
                    .parse::<usize>()
                    .unwrap_or(1)
                    .clamp(1, 64);
                // The row's alignment applies to its cells unless the cell says otherwise.
                let row_align = self
                    .frames
                    .iter()
                    .rev()
                    .take_while(|f| f.tag != "table")
                    .find(|f| f.tag == "tr")
                    .and_then(|f| f.align);
                let align = align_of(start).or(row_align);
                if let Some(t) = self.table() {
                    if t.row.is_none() {
                        t.row = Some(Row {
                            cells: Vec::new(),
                            grand: false,
                        });
                        t.row_is_head = t.in_head;
                    }
                    t.cell = Some((align, colspan));
                }
                self.push_frame(&tag, start);
                self.stack.push(Container::Flow(Flow::new()));
            }
            _ => {
                if BLOCK_TAGS.contains(&tag.as_str()) {
                    self.flush(false);
                    if page_break {
                        if let Some(flow) = self.flow() {
                            flow.blocks.push(Block::PageBreak);
                        }
                    }
                    self.mark_space(space_before(&tag));
                }
                if !start.self_closing {
                    self.push_frame(&tag, start);
                }
            }
        }
    }

    fn end(&mut self, name: &[u8]) {
        let tag = String::from_utf8_lossy(name).to_ascii_lowercase();
        if let Some(skip) = &self.skip {
            if *skip == tag {
                self.skip = None;
            }
            return;
        }
        match tag.as_str() {
            "title" => {
                self.in_title = false;
            }
            "table" => self.close_table(),
            "tr" => {
                self.close_row();
                if let Some(pos) = self.frames.iter().rposition(|f| f.tag == "tr") {
                    self.frames.truncate(pos);
                }
            }
            "td" | "th" => self.close_cell(),
            "thead" | "tbody" | "tfoot" => {
                self.close_row();
                if let Some(t) = self.table() {
                    t.in_head = false;
                }
            }
            _ => {
                let block = BLOCK_TAGS.contains(&tag.as_str());
                if block {
                    self.flush(false);
                }
                // Pop to the matching element, but never past a cell or table boundary.
                if let Some(pos) = self.frames.iter().rposition(|f| f.tag == tag) {
                    let boundary = self.frames.iter().rposition(|f| f.cell);
                    if boundary.is_none_or(|b| b < pos) {
                        self.frames.truncate(pos);
                    }
                }
                if block {
                    self.mark_space(space_before(&tag) / 2.0);
                }
            }
        }
    }

    fn finish(mut self) -> Document {
        while self.stack.len() > 1 {
            match self.stack.last() {
                Some(Container::Table(_)) => self.close_table(),
                _ => {
                    let before = self.stack.len();
                    self.close_cell();
                    if self.stack.len() == before {
                        // A flow on top of a flow cannot happen; stop rather than loop.
                        break;
                    }
                }
            }
        }
        self.flush(false);
        let blocks = match self.stack.pop() {
            Some(Container::Flow(flow)) => flow.blocks,
            _ => Vec::new(),
        };
        let title = self.title.split_whitespace().collect::<Vec<_>>().join(" ");
        Document {
            title,
            blocks: apply_column_alignment(blocks),
        }
    }
}

/// Body cells without an alignment take their column's header alignment.
fn apply_column_alignment(blocks: Vec<Block>) -> Vec<Block> {
    blocks
        .into_iter()
        .map(|block| match block {
            Block::Table(mut table) => {
                let mut columns: Vec<Option<Align>> = Vec::new();
                if let Some(row) = table.head.last() {
                    for cell in &row.cells {
                        for _ in 0..cell.colspan {
                            columns.push(cell.align);
                        }
                    }
                }
                for row in table.body.iter_mut().chain(table.head.iter_mut()) {
                    let mut col = 0;
                    for cell in &mut row.cells {
                        if cell.align.is_none() {
                            cell.align = columns.get(col).copied().flatten();
                        }
                        col += cell.colspan;
                        cell.blocks = apply_column_alignment(std::mem::take(&mut cell.blocks));
                    }
                }
                Block::Table(table)
            }
            other => other,
        })
        .collect()
}

/// Parses rendered HTML into blocks.
pub(crate) fn parse(html: &str) -> Document {
    let mut emitter = DefaultEmitter::default();
    emitter.naively_switch_states(true);
    let mut builder = Builder::new();
    for token in Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            Token::StartTag(tag) => builder.start(&tag),
            Token::EndTag(tag) => builder.end(&tag.name),
            Token::String(text) => builder.text(&String::from_utf8_lossy(&text.value)),
            Token::Comment(_) | Token::Doctype(_) | Token::Error(_) => {}
        }
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(blocks: &[Block]) -> Vec<String> {
        let mut out = Vec::new();
        for block in blocks {
            match block {
                Block::Para(p) => {
                    out.push(p.runs.iter().map(|r| r.text.as_str()).collect::<String>())
                }
                Block::Table(t) => {
                    for row in t.head.iter().chain(&t.body) {
                        for cell in &row.cells {
                            out.extend(texts(&cell.blocks));
                        }
                    }
                }
                Block::Rule => out.push("---".into()),
                Block::PageBreak => out.push("<page>".into()),
            }
        }
        out
    }

    #[test]
    fn paragraphs_collapse_whitespace_and_decode_entities() {
        let doc = parse(
            "<html><head><title> Invoice  1 </title><style>p{}</style></head>\
             <body><h1>Acme &amp; Co</h1><p>one\n   two <b>three</b></p>a<br>b<hr></body></html>",
        );
        assert_eq!(doc.title, "Invoice 1");
        assert_eq!(
            texts(&doc.blocks),
            ["Acme & Co", "one two three", "a", "b", "---"]
        );
        let Block::Para(p) = &doc.blocks[1] else {
            panic!("paragraph expected");
        };
        assert_eq!(p.runs[1].style.font, Font::Bold);
    }

    #[test]
    fn tables_keep_rows_cells_and_column_alignment() {
        let doc = parse(
            "<table><thead><tr><th>Item</th><th class=num>Total</th></tr></thead>\
             <tbody><tr><td>A</td><td>1.00</td></tr><tr class=grand><td colspan=2>x</td></tr>\
             </tbody></table><p>after</p>",
        );
        let Block::Table(t) = &doc.blocks[0] else {
            panic!("table expected");
        };
        assert_eq!(t.head.len(), 1);
        assert_eq!(t.body.len(), 2);
        assert_eq!(t.body[0].cells[1].align, Some(Align::Right));
        assert_eq!(t.body[0].cells[0].align, None);
        assert!(t.body[1].grand);
        assert_eq!(t.body[1].cells[0].colspan, 2);
        assert_eq!(
            texts(&doc.blocks),
            ["Item", "Total", "A", "1.00", "x", "after"]
        );
    }

    #[test]
    fn nested_tables_and_unclosed_cells() {
        let doc = parse("<table class=layout><tr><td>L<td><table><tr><td>k<td>v</table></table>");
        let Block::Table(t) = &doc.blocks[0] else {
            panic!("table expected");
        };
        assert_eq!(t.mode, TableMode::Layout);
        assert_eq!(t.body[0].cells.len(), 2);
        assert!(matches!(t.body[0].cells[1].blocks[0], Block::Table(_)));
        assert_eq!(texts(&doc.blocks), ["L", "k", "v"]);
    }
}
