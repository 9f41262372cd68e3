//! The PDF format: the rendered HTML's text blocks ([`crate::html`]) laid out on A4 pages and
//! written with `pdf-writer` as PDF 1.7 — Helvetica and Helvetica-Bold (standard base fonts, no
//! font file embedded, WinAnsi encoding, so text is extractable), no timestamps, no random file
//! id: identical HTML gives identical bytes.
//!
//! Layout: paragraphs wrap at word boundaries; tables get columns from their cells' natural and
//! minimal widths (spare width to the text columns); a table row never splits, and a table that runs onto a new page repeats its
//! header rows there. Pages after the first start with a running header (the HTML `title`); every
//! page ends with a footer line: the title and `Page i of n`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::html::{self, Align, Block, Cell, Para, Row, Style, Table, TableMode, BODY_SIZE};
use crate::metrics::{encode, Font};

/// A4 portrait, in points.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 48.0;
const MARGIN_TOP: f32 = 46.0;
/// Content ends here (from the top); the footer sits below.
const CONTENT_BOTTOM: f32 = PAGE_HEIGHT - 62.0;
const FOOTER_RULE: f32 = PAGE_HEIGHT - 46.0;
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 34.0;
/// Height of the running header on pages after the first.
const RUNNING_HEADER: f32 = 22.0;
const CELL_PAD_X: f32 = 5.0;
const CELL_PAD_Y: f32 = 3.0;
const LINE_FACTOR: f32 = 1.3;
const SMALL_SIZE: f32 = 7.5;
/// Text exactly as wide as its column (natural widths minus padding) must still fit.
const FIT_TOLERANCE: f32 = 0.05;

/// One drawing operation; `y` grows downwards from the page top.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Text {
        x: f32,
        baseline: f32,
        style: Style,
        text: Vec<u8>,
    },
    Line {
        x1: f32,
        x2: f32,
        y: f32,
        width: f32,
        grey: f32,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        grey: f32,
    },
}

// ---------------------------------------------------------------------------------------------
// Paragraphs

/// A piece of a word in one style.
struct Word {
    pieces: Vec<(String, Style)>,
    space_before: Option<Style>,
}

/// One laid-out line: segments of text with their x offset.
struct LineBox {
    segments: Vec<(f32, Vec<u8>, Style)>,
    width: f32,
    height: f32,
    size: f32,
}

fn words(para: &Para) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut boundary = true;
    let mut space: Option<Style> = None;
    for run in &para.runs {
        for (i, part) in run.text.split(' ').enumerate() {
            if i > 0 {
                boundary = true;
                space = Some(run.style);
            }
            if part.is_empty() {
                continue;
            }
            if boundary || words.is_empty() {
                words.push(Word {
                    pieces: vec![(part.to_string(), run.style)],
                    space_before: if words.is_empty() { None } else { space },
                });
                boundary = false;
                space = None;
            } else if let Some(word) = words.last_mut() {
                word.pieces.push((part.to_string(), run.style));
            }
        }
    }
    words
}

fn word_width(word: &Word) -> f32 {
    word.pieces
        .iter()
        .map(|(text, style)| style.font.text_width(text, style.size))
        .sum()
}

fn space_width(style: Style) -> f32 {
    style.font.text_width(" ", style.size)
}

fn para_style(para: &Para) -> Style {
    para.blank
        .or_else(|| para.runs.first().map(|r| r.style))
        .unwrap_or(Style {
            font: Font::Regular,
            size: BODY_SIZE,
            grey: false,
        })
}

/// The paragraph's width on one line, and its longest word.
fn para_widths(para: &Para) -> (f32, f32) {
    let mut natural = 0.0;
    let mut longest: f32 = 0.0;
    for word in words(para) {
        let w = word_width(&word);
        natural += w + word.space_before.map_or(0.0, space_width);
        longest = longest.max(w);
    }
    (natural, longest)
}

fn push_piece(line: &mut LineBox, text: &str, style: Style, space: bool) {
    let encoded = encode(text);
    let w = style.font.width(&encoded, style.size);
    let sp = if space { space_width(style) } else { 0.0 };
    match line.segments.last_mut() {
        Some((_, bytes, s)) if *s == style => {
            if space {
                bytes.push(b' ');
            }
            bytes.extend_from_slice(&encoded);
        }
        _ => {
            let x = line.width + sp;
            line.segments.push((x, encoded, style));
        }
    }
    line.width += sp + w;
    line.size = line.size.max(style.size);
}

fn new_line() -> LineBox {
    LineBox {
        segments: Vec::new(),
        width: 0.0,
        height: 0.0,
        size: 0.0,
    }
}

fn finish_line(mut line: LineBox, fallback: f32) -> LineBox {
    if line.size == 0.0 {
        line.size = fallback;
    }
    line.height = line.size * LINE_FACTOR;
    line
}

/// Wraps a paragraph to `width`.
fn wrap(para: &Para, width: f32) -> Vec<LineBox> {
    let fallback = para_style(para).size;
    let mut lines = Vec::new();
    let mut line = new_line();
    for word in words(para) {
        let w = word_width(&word);
        let sp = match (&word.space_before, line.segments.is_empty()) {
            (Some(style), false) => space_width(*style),
            _ => 0.0,
        };
        if !line.segments.is_empty() && line.width + sp + w > width + FIT_TOLERANCE {
            lines.push(finish_line(
                std::mem::replace(&mut line, new_line()),
                fallback,
            ));
        }
        let mut first = true;
        for (text, style) in &word.pieces {
            let space = first && word.space_before.is_some() && !line.segments.is_empty();
            first = false;
            let piece_width = style.font.text_width(text, style.size);
            if line.segments.is_empty() && piece_width > width + FIT_TOLERANCE {
                // A word longer than the line: break it between characters.
                let mut chunk = String::new();
                let mut chunk_width = 0.0;
                for c in text.chars() {
                    let mut buf = [0u8; 4];
                    let c_width = style.font.text_width(c.encode_utf8(&mut buf), style.size);
                    if !chunk.is_empty()
                        && line.width + chunk_width + c_width > width + FIT_TOLERANCE
                    {
                        push_piece(&mut line, &chunk, *style, false);
                        lines.push(finish_line(
                            std::mem::replace(&mut line, new_line()),
                            fallback,
                        ));
                        chunk.clear();
                        chunk_width = 0.0;
                    }
                    chunk.push(c);
                    chunk_width += c_width;
                }
                push_piece(&mut line, &chunk, *style, false);
            } else {
                push_piece(&mut line, text, *style, space);
            }
        }
    }
    if !line.segments.is_empty() || lines.is_empty() {
        lines.push(finish_line(line, fallback));
    }
    lines
}

fn draw_line(ops: &mut Vec<Op>, line: &LineBox, x: f32, top: f32, width: f32, align: Align) {
    let offset = match align {
        Align::Left => 0.0,
        Align::Center => (width - line.width) / 2.0,
        Align::Right => width - line.width,
    };
    // Centre the cap height (≈0.72 em) in the line box.
    let baseline = top + line.height / 2.0 + line.size * 0.36;
    for (dx, text, style) in &line.segments {
        ops.push(Op::Text {
            x: x + offset + dx,
            baseline,
            style: *style,
            text: text.clone(),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Blocks and tables (measured and drawn without page breaks: used inside cells)

fn block_widths(block: &Block) -> (f32, f32) {
    match block {
        Block::Para(p) => para_widths(p),
        Block::Table(t) => {
            let (nat, min) = column_widths(t);
            (nat.iter().sum(), min.iter().sum())
        }
        Block::Rule | Block::PageBreak => (0.0, 0.0),
    }
}

fn columns(table: &Table) -> usize {
    table
        .head
        .iter()
        .chain(&table.body)
        .map(|row| row.cells.iter().map(|c| c.colspan).sum::<usize>())
        .max()
        .unwrap_or(0)
}

/// Natural and minimal width of every column, padding included.
fn column_widths(table: &Table) -> (Vec<f32>, Vec<f32>) {
    let n = columns(table);
    let mut nat = vec![0.0f32; n];
    let mut min = vec![0.0f32; n];
    let rows: Vec<&Row> = table.head.iter().chain(&table.body).collect();
    for pass_span in [false, true] {
        for row in &rows {
            let mut col = 0;
            for cell in &row.cells {
                let span = cell.colspan.min(n - col);
                let (cn, cm) = cell
                    .blocks
                    .iter()
                    .map(block_widths)
                    .fold((0.0f32, 0.0f32), |a, b| (a.0.max(b.0), a.1.max(b.1)));
                let (cn, cm) = (cn + 2.0 * CELL_PAD_X, cm + 2.0 * CELL_PAD_X);
                if !pass_span && span == 1 {
                    nat[col] = nat[col].max(cn);
                    min[col] = min[col].max(cm);
                } else if pass_span && span > 1 {
                    let last = col + span - 1;
                    let have_nat: f32 = nat[col..=last].iter().sum();
                    if have_nat < cn {
                        nat[last] += cn - have_nat;
                    }
                    let have_min: f32 = min[col..=last].iter().sum();
                    if have_min < cm {
                        min[last] += cm - have_min;
                    }
                }
                col += span;
                if col >= n {
                    break;
                }
            }
        }
    }
    (nat, min)
}

/// The alignment of each column: the first explicit cell alignment found, header rows first.
fn column_aligns(table: &Table) -> Vec<Align> {
    let n = columns(table);
    let mut aligns = vec![None; n];
    for row in table.head.iter().chain(&table.body) {
        let mut col = 0;
        for cell in &row.cells {
            if col < n && cell.colspan == 1 && aligns[col].is_none() {
                aligns[col] = cell.align;
            }
            col += cell.colspan;
        }
    }
    aligns
        .into_iter()
        .map(|a| a.unwrap_or(Align::Left))
        .collect()
}

/// A table's column widths, column alignments and left offset inside `width`.
struct TableLayout {
    offset: f32,
    widths: Vec<f32>,
    aligns: Vec<Align>,
}

fn layout_table(table: &Table, width: f32) -> TableLayout {
    let aligns = column_aligns(table);
    let (offset, widths) = column_layout(table, &aligns, width);
    TableLayout {
        offset,
        widths,
        aligns,
    }
}

fn column_layout(table: &Table, aligns: &[Align], width: f32) -> (f32, Vec<f32>) {
    let (nat, min) = column_widths(table);
    let n = nat.len();
    if n == 0 {
        return (0.0, Vec::new());
    }
    let total: f32 = nat.iter().sum();
    if table.mode == TableMode::Layout {
        return (0.0, vec![width / n as f32; n]);
    }
    if total <= width {
        let mut widths = nat.clone();
        let mut offset = 0.0;
        match table.mode {
            TableMode::Right => offset = width - total,
            _ => {
                // Spare width goes to the left-aligned (text) columns, in proportion to their
                // natural widths; with none, to the last column.
                let text: Vec<usize> = (0..n).filter(|&c| aligns[c] == Align::Left).collect();
                let text_total: f32 = text.iter().map(|&c| nat[c]).sum();
                if text.is_empty() || text_total <= 0.0 {
                    widths[n - 1] += width - total;
                } else {
                    for &c in &text {
                        widths[c] += (width - total) * nat[c] / text_total;
                    }
                }
            }
        }
        return (offset, widths);
    }
    let min_total: f32 = min.iter().sum();
    let widths = if min_total < width {
        let deficit = total - width;
        let room = total - min_total;
        nat.iter()
            .zip(&min)
            .map(|(n, m)| n - (n - m) * deficit / room)
            .collect()
    } else {
        min.iter().map(|m| m * width / min_total).collect()
    };
    (0.0, widths)
}

/// The height of blocks stacked in `width` (the first block's space above is dropped).
fn blocks_height(blocks: &[Block], width: f32) -> f32 {
    let mut h = 0.0;
    for (i, block) in blocks.iter().enumerate() {
        h += match block {
            Block::Para(p) => {
                let lines: f32 = wrap(p, width).iter().map(|l| l.height).sum();
                lines + if i > 0 { p.space_before } else { 0.0 }
            }
            Block::Table(t) => {
                let layout = layout_table(t, width);
                t.head
                    .iter()
                    .chain(&t.body)
                    .map(|r| row_height(r, &layout))
                    .sum::<f32>()
                    + if i > 0 { 4.0 } else { 0.0 }
            }
            Block::Rule => 8.0,
            Block::PageBreak => 0.0,
        };
    }
    h
}

fn cell_spans(row: &Row, layout: &TableLayout) -> Vec<(f32, f32)> {
    let mut spans = Vec::new();
    let mut x = layout.offset;
    let mut col = 0;
    for cell in &row.cells {
        let end = (col + cell.colspan).min(layout.widths.len());
        let w: f32 = layout.widths[col.min(end)..end].iter().sum();
        spans.push((x, w));
        x += w;
        col = end;
    }
    spans
}

fn row_height(row: &Row, layout: &TableLayout) -> f32 {
    let spans = cell_spans(row, layout);
    let content = row
        .cells
        .iter()
        .zip(&spans)
        .map(|(cell, (_, w))| blocks_height(&cell.blocks, (w - 2.0 * CELL_PAD_X).max(1.0)))
        .fold(0.0f32, f32::max);
    content.max(BODY_SIZE * LINE_FACTOR) + 2.0 * CELL_PAD_Y
}

/// Draws blocks stacked at (`x`, `top`) in `width`; returns the height used.
fn draw_blocks(
    ops: &mut Vec<Op>,
    blocks: &[Block],
    x: f32,
    top: f32,
    width: f32,
    inherited: Align,
) -> f32 {
    let mut y = top;
    for (i, block) in blocks.iter().enumerate() {
        match block {
            Block::Para(p) => {
                if i > 0 {
                    y += p.space_before;
                }
                let align = p.align.unwrap_or(inherited);
                for line in wrap(p, width) {
                    draw_line(ops, &line, x, y, width, align);
                    y += line.height;
                }
            }
            Block::Table(t) => {
                if i > 0 {
                    y += 4.0;
                }
                let layout = layout_table(t, width);
                for (r, row) in t.head.iter().enumerate() {
                    y += draw_row(ops, t, row, &layout, x, y, true, r == 0);
                }
                for (r, row) in t.body.iter().enumerate() {
                    y += draw_row(
                        ops,
                        t,
                        row,
                        &layout,
                        x,
                        y,
                        false,
                        r == 0 && t.head.is_empty(),
                    );
                }
            }
            Block::Rule => {
                ops.push(Op::Line {
                    x1: x,
                    x2: x + width,
                    y: y + 4.0,
                    width: 0.5,
                    grey: 0.6,
                });
                y += 8.0;
            }
            Block::PageBreak => {}
        }
    }
    y - top
}

/// Draws one table row at `top`; returns its height.
#[allow(clippy::too_many_arguments)]
fn draw_row(
    ops: &mut Vec<Op>,
    table: &Table,
    row: &Row,
    layout: &TableLayout,
    x: f32,
    top: f32,
    head: bool,
    first: bool,
) -> f32 {
    let h = row_height(row, layout);
    let table_width: f32 = layout.widths.iter().sum();
    let left = x + layout.offset;
    let grid = table.mode == TableMode::Grid;
    if head && grid {
        ops.push(Op::Fill {
            x: left,
            y: top,
            w: table_width,
            h,
            grey: 0.92,
        });
    }
    if row.grand {
        ops.push(Op::Line {
            x1: left,
            x2: left + table_width,
            y: top,
            width: 0.9,
            grey: 0.0,
        });
    } else if grid && first && !head {
        ops.push(Op::Line {
            x1: left,
            x2: left + table_width,
            y: top,
            width: 0.5,
            grey: 0.75,
        });
    }
    let mut col = 0;
    for (cell, (cx, w)) in row.cells.iter().zip(cell_spans(row, layout)) {
        let align = cell_align(cell, &layout.aligns, col);
        draw_blocks(
            ops,
            &cell.blocks,
            x + cx + CELL_PAD_X,
            top + CELL_PAD_Y,
            (w - 2.0 * CELL_PAD_X).max(1.0),
            align,
        );
        col += cell.colspan;
    }
    if grid {
        ops.push(Op::Line {
            x1: left,
            x2: left + table_width,
            y: top + h,
            width: if head { 0.8 } else { 0.4 },
            grey: if head { 0.35 } else { 0.82 },
        });
    }
    h
}

fn cell_align(cell: &Cell, aligns: &[Align], col: usize) -> Align {
    cell.align
        .or_else(|| {
            (cell.colspan == 1)
                .then(|| aligns.get(col).copied())
                .flatten()
        })
        .unwrap_or(Align::Left)
}

// ---------------------------------------------------------------------------------------------
// Pages

struct Pager {
    pages: Vec<Vec<Op>>,
    y: f32,
    top: f32,
}

impl Pager {
    fn new() -> Pager {
        Pager {
            pages: vec![Vec::new()],
            y: MARGIN_TOP,
            top: MARGIN_TOP,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn at_top(&self) -> bool {
        self.y <= self.top + 0.01
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.top = MARGIN_TOP + RUNNING_HEADER;
        self.y = self.top;
    }

    /// Starts a new page unless `h` fits on this one (or this page is still empty).
    fn ensure(&mut self, h: f32) {
        if self.y + h > CONTENT_BOTTOM && !self.at_top() {
            self.new_page();
        }
    }
}

const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;

fn is_heading(block: &Block) -> bool {
    matches!(block, Block::Para(p) if p.runs.iter().all(|r| r.style.font == Font::Bold))
}

fn lay_out(doc: &html::Document) -> Vec<Vec<Op>> {
    let mut pager = Pager::new();
    let width = CONTENT_WIDTH;
    for (i, block) in doc.blocks.iter().enumerate() {
        match block {
            Block::Para(p) => {
                let lines = wrap(p, width);
                let mut needed: f32 = lines.iter().map(|l| l.height).sum();
                // Keep a heading with the start of the table that follows it.
                if is_heading(block) {
                    if let Some(Block::Table(t)) = doc.blocks.get(i + 1) {
                        let layout = layout_table(t, width);
                        needed += 6.0
                            + t.head
                                .iter()
                                .chain(t.body.first())
                                .map(|r| row_height(r, &layout))
                                .sum::<f32>();
                    }
                }
                pager.ensure(needed.min(CONTENT_BOTTOM - MARGIN_TOP - RUNNING_HEADER));
                if !pager.at_top() {
                    pager.y += p.space_before;
                }
                let align = p.align.unwrap_or(Align::Left);
                for line in lines {
                    pager.ensure(line.height);
                    let y = pager.y;
                    draw_line(pager.ops(), &line, MARGIN_X, y, width, align);
                    pager.y += line.height;
                }
            }
            Block::Table(t) => {
                let layout = layout_table(t, width);
                let head_h: f32 = t.head.iter().map(|r| row_height(r, &layout)).sum();
                if !pager.at_top() {
                    pager.y += 6.0;
                }
                let first_h = t.body.first().map_or(0.0, |r| row_height(r, &layout));
                pager.ensure(head_h + first_h);
                let draw_head = |pager: &mut Pager| {
                    for (r, row) in t.head.iter().enumerate() {
                        let y = pager.y;
                        pager.y +=
                            draw_row(pager.ops(), t, row, &layout, MARGIN_X, y, true, r == 0);
                    }
                };
                draw_head(&mut pager);
                for (r, row) in t.body.iter().enumerate() {
                    let h = row_height(row, &layout);
                    if pager.y + h > CONTENT_BOTTOM && !pager.at_top() {
                        pager.new_page();
                        draw_head(&mut pager);
                    }
                    let y = pager.y;
                    let first = r == 0 && t.head.is_empty();
                    pager.y += draw_row(pager.ops(), t, row, &layout, MARGIN_X, y, false, first);
                }
                pager.y += 4.0;
            }
            Block::Rule => {
                pager.ensure(8.0);
                let y = pager.y + 4.0;
                pager.ops().push(Op::Line {
                    x1: MARGIN_X,
                    x2: MARGIN_X + width,
                    y,
                    width: 0.5,
                    grey: 0.6,
                });
                pager.y += 8.0;
            }
            Block::PageBreak => {
                if !pager.at_top() {
                    pager.new_page();
                }
            }
        }
    }
    let count = pager.pages.len();
    let small = Style {
        font: Font::Regular,
        size: SMALL_SIZE,
        grey: true,
    };
    for (i, ops) in pager.pages.iter_mut().enumerate() {
        let title = encode(&doc.title);
        let page = encode(&format!("Page {} of {}", i + 1, count));
        let page_width = small.font.width(&page, small.size);
        if i > 0 {
            ops.push(Op::Text {
                x: MARGIN_X,
                baseline: MARGIN_TOP + 8.0,
                style: small,
                text: title.clone(),
            });
            ops.push(Op::Text {
                x: PAGE_WIDTH - MARGIN_X - page_width,
                baseline: MARGIN_TOP + 8.0,
                style: small,
                text: page.clone(),
            });
            ops.push(Op::Line {
                x1: MARGIN_X,
                x2: PAGE_WIDTH - MARGIN_X,
                y: MARGIN_TOP + 13.0,
                width: 0.4,
                grey: 0.7,
            });
        }
        ops.push(Op::Line {
            x1: MARGIN_X,
            x2: PAGE_WIDTH - MARGIN_X,
            y: FOOTER_RULE,
            width: 0.4,
            grey: 0.7,
        });
        ops.push(Op::Text {
            x: MARGIN_X,
            baseline: FOOTER_BASELINE,
            style: small,
            text: title,
        });
        ops.push(Op::Text {
            x: PAGE_WIDTH - MARGIN_X - page_width,
            baseline: FOOTER_BASELINE,
            style: small,
            text: page,
        });
    }
    pager.pages
}

/// Two decimals: keeps the content streams short and stable.
fn r2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn content(ops: &[Op]) -> Vec<u8> {
    let mut c = Content::new();
    for op in ops {
        match op {
            Op::Fill { x, y, w, h, grey } => {
                c.set_fill_gray(*grey);
                c.rect(r2(*x), r2(PAGE_HEIGHT - y - h), r2(*w), r2(*h));
                c.fill_nonzero();
            }
            Op::Line {
                x1,
                x2,
                y,
                width,
                grey,
            } => {
                c.set_stroke_gray(*grey);
                c.set_line_width(*width);
                c.move_to(r2(*x1), r2(PAGE_HEIGHT - y));
                c.line_to(r2(*x2), r2(PAGE_HEIGHT - y));
                c.stroke();
            }
            Op::Text {
                x,
                baseline,
                style,
                text,
            } => {
                c.set_fill_gray(if style.grey { 0.4 } else { 0.1 });
                c.begin_text();
                let font = match style.font {
                    Font::Regular => Name(b"F1"),
                    Font::Bold => Name(b"F2"),
                };
                c.set_font(font, style.size);
                c.next_line(r2(*x), r2(PAGE_HEIGHT - baseline));
                c.show(Str(text));
                c.end_text();
            }
        }
    }
    c.finish().to_vec()
}

/// Lays out rendered HTML and writes it as a PDF 1.7 file.
pub(crate) fn html_to_pdf(html: &str) -> Vec<u8> {
    let doc = html::parse(html);
    let pages = lay_out(&doc);
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(6 + 2 * i as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.set_version(1, 7);
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    for (ops, id) in pages.iter().zip(&page_ids) {
        let content_id = Ref::new(id.get() + 1);
        let mut page = pdf.page(*id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        page.finish();
        pdf.stream(content_id, &content(ops));
    }
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let mut doc_info = pdf.document_info(info);
    if !doc.title.is_empty() {
        doc_info.title(TextStr(&doc.title));
    }
    doc_info.producer(TextStr("Reckon"));
    doc_info.finish();
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_inside_overlong_words() {
        let doc = html::parse("<p>aaaa bbbb cccc</p>");
        let Block::Para(p) = &doc.blocks[0] else {
            panic!("paragraph expected");
        };
        let four = Font::Regular.text_width("aaaa bbbb", BODY_SIZE);
        assert_eq!(wrap(p, four + 0.5).len(), 2);
        assert_eq!(wrap(p, 1000.0).len(), 1);
        assert!(wrap(p, 10.0).len() > 3);
    }

    #[test]
    fn grid_tables_give_spare_width_to_the_text_columns() {
        let doc = html::parse(
            "<table><thead><tr><th class=num>#</th><th>Description</th><th class=num>Total</th></tr>\
             </thead><tr><td>1</td><td>Gold plan</td><td>10.00</td></tr></table>",
        );
        let Block::Table(t) = &doc.blocks[0] else {
            panic!("table expected");
        };
        let layout = layout_table(t, 400.0);
        let (nat, _) = column_widths(t);
        assert!((layout.widths.iter().sum::<f32>() - 400.0).abs() < 0.01);
        assert_eq!(layout.widths[0], nat[0]);
        assert_eq!(layout.widths[2], nat[2]);
        assert!(layout.widths[1] > nat[1]);
    }
}
