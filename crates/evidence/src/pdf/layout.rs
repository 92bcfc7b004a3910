//! A small layout engine over printpdf's page operations: a flow of wrapped paragraphs,
//! headings (recorded for the table of contents and the outline), tables that break across
//! pages with their header repeated, and boxes for vector figures.
//!
//! Positions are tracked in points from the top of the page and converted to PDF coordinates
//! (origin bottom left) only when an operation is emitted.

use printpdf::{
    Color, FontId, Line, LinePoint, Op, PaintMode, PdfFontHandle, Point, Polygon, PolygonRing, Pt,
    Rgb, TextItem, WindingOrder,
};

use super::fonts::{Face, Faces};

/// A4 in points.
pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
pub(crate) const MARGIN_LEFT: f32 = 56.0;
pub(crate) const MARGIN_RIGHT: f32 = 56.0;
/// The body starts below the running header.
pub(crate) const BODY_TOP: f32 = 72.0;
/// The body ends above the footer.
pub(crate) const BODY_BOTTOM: f32 = PAGE_HEIGHT - 64.0;
pub(crate) const BODY_WIDTH: f32 = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;

/// The fixed resource names of the two faces: printpdf would draw random ones.
pub(crate) fn font_id(face: Face) -> FontId {
    FontId(
        match face {
            Face::Regular => "F1",
            Face::Bold => "F2",
        }
        .to_owned(),
    )
}

/// An RGB colour from 0-255 components.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb8(pub u8, pub u8, pub u8);

impl Rgb8 {
    fn color(self) -> Color {
        Color::Rgb(Rgb {
            r: f32::from(self.0) / 255.0,
            g: f32::from(self.1) / 255.0,
            b: f32::from(self.2) / 255.0,
            icc_profile: None,
        })
    }
}

pub(crate) const INK: Rgb8 = Rgb8(0x1f, 0x23, 0x28);
pub(crate) const MUTED: Rgb8 = Rgb8(0x5f, 0x66, 0x6d);
pub(crate) const RULE: Rgb8 = Rgb8(0xc8, 0xcd, 0xd2);
pub(crate) const HEADER_FILL: Rgb8 = Rgb8(0xe9, 0xed, 0xf1);
pub(crate) const ACCENT: Rgb8 = Rgb8(0x1d, 0x4e, 0x89);
/// The background of code blocks.
pub(crate) const CODE_FILL: Rgb8 = Rgb8(0xf3, 0xf5, 0xf7);

/// How a run of text looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TextStyle {
    pub face: Face,
    pub size: f32,
    pub color: Rgb8,
}

impl TextStyle {
    pub(crate) const fn new(face: Face, size: f32, color: Rgb8) -> TextStyle {
        TextStyle { face, size, color }
    }

    pub(crate) fn line_height(&self) -> f32 {
        self.size * 1.32
    }
}

pub(crate) const BODY: TextStyle = TextStyle::new(Face::Regular, 9.5, INK);
pub(crate) const SMALL: TextStyle = TextStyle::new(Face::Regular, 8.0, INK);
pub(crate) const SMALL_MUTED: TextStyle = TextStyle::new(Face::Regular, 8.0, MUTED);
pub(crate) const SMALL_BOLD: TextStyle = TextStyle::new(Face::Bold, 8.0, INK);
pub(crate) const LABEL: TextStyle = TextStyle::new(Face::Bold, 9.5, INK);

/// Operations on one page, in top-down coordinates.
#[derive(Debug, Default, Clone)]
pub(crate) struct Canvas {
    pub ops: Vec<Op>,
}

fn point(x: f32, y_from_top: f32) -> Point {
    Point {
        x: Pt(x),
        y: Pt(PAGE_HEIGHT - y_from_top),
    }
}

impl Canvas {
    /// Draws one line of text with its baseline at `baseline` (from the top of the page).
    pub(crate) fn text(&mut self, x: f32, baseline: f32, style: TextStyle, text: &str) {
        let text = Faces::get().drawable(text);
        if text.trim().is_empty() {
            return;
        }
        self.ops.extend([
            Op::StartTextSection,
            Op::SetFont {
                font: PdfFontHandle::External(font_id(style.face)),
                size: Pt(style.size),
            },
            Op::SetFillColor {
                col: style.color.color(),
            },
            Op::SetTextCursor {
                pos: point(x, baseline),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text)],
            },
            Op::EndTextSection,
        ]);
    }

    /// Text right-aligned so that it ends at `right`.
    pub(crate) fn text_right(&mut self, right: f32, baseline: f32, style: TextStyle, text: &str) {
        let width = Faces::get().width(style.face, style.size, &Faces::get().drawable(text));
        self.text(right - width, baseline, style, text);
    }

    /// Text centred on `centre`.
    pub(crate) fn text_centred(
        &mut self,
        centre: f32,
        baseline: f32,
        style: TextStyle,
        text: &str,
    ) {
        let width = Faces::get().width(style.face, style.size, &Faces::get().drawable(text));
        self.text(centre - width / 2.0, baseline, style, text);
    }

    /// A straight stroked line.
    pub(crate) fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb8) {
        self.polyline(&[from, to], width, color);
    }

    /// An open stroked polyline.
    pub(crate) fn polyline(&mut self, points: &[(f32, f32)], width: f32, color: Rgb8) {
        self.ops.extend([
            Op::SetOutlineColor { col: color.color() },
            Op::SetOutlineThickness { pt: Pt(width) },
            Op::DrawLine {
                line: Line {
                    points: points
                        .iter()
                        .map(|&(x, y)| LinePoint {
                            p: point(x, y),
                            bezier: false,
                        })
                        .collect(),
                    is_closed: false,
                },
            },
        ]);
    }

    /// A filled (and optionally stroked) polygon.
    pub(crate) fn polygon(&mut self, points: &[(f32, f32)], fill: Rgb8, stroke: Option<Rgb8>) {
        self.ops.push(Op::SetFillColor { col: fill.color() });
        if let Some(stroke) = stroke {
            self.ops.extend([
                Op::SetOutlineColor {
                    col: stroke.color(),
                },
                Op::SetOutlineThickness { pt: Pt(0.6) },
            ]);
        }
        self.ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![PolygonRing {
                    points: points
                        .iter()
                        .map(|&(x, y)| LinePoint {
                            p: point(x, y),
                            bezier: false,
                        })
                        .collect(),
                }],
                mode: if stroke.is_some() {
                    PaintMode::FillStroke
                } else {
                    PaintMode::Fill
                },
                winding_order: WindingOrder::NonZero,
            },
        });
    }

    /// A filled rectangle with its top-left corner at (`x`, `top`).
    pub(crate) fn rect(
        &mut self,
        x: f32,
        top: f32,
        w: f32,
        h: f32,
        fill: Rgb8,
        stroke: Option<Rgb8>,
    ) {
        self.polygon(
            &[(x, top), (x + w, top), (x + w, top + h), (x, top + h)],
            fill,
            stroke,
        );
    }
}

/// Breaks `text` into lines no wider than `width`: at spaces where possible, inside a word
/// (ids and hashes have no spaces) where not. Explicit newlines are kept.
pub(crate) fn wrap(text: &str, style: TextStyle, width: f32) -> Vec<String> {
    let faces = Faces::get();
    let measure = |s: &str| faces.width(style.face, style.size, s);
    let mut lines = Vec::new();
    for paragraph in faces.drawable_keep_newlines(text).split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if measure(&candidate) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The word alone: split it where it overflows.
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if measure(&piece) > width && piece.chars().count() > 1 {
                    let last = piece.pop().expect("piece has two characters or more");
                    lines.push(std::mem::take(&mut piece));
                    piece.push(last);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

impl Faces {
    /// Like [`Faces::drawable`], but keeps newlines for [`wrap`].
    fn drawable_keep_newlines(&self, text: &str) -> String {
        text.split('\n')
            .map(|l| self.drawable(l))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A heading as the table of contents and the outline see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Heading {
    pub level: u8,
    /// The title in the contents and the outline.
    pub toc_title: String,
    /// Index into the flow's pages.
    pub page: usize,
}

/// A table column: its title and its share of the width.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column<'a> {
    pub title: &'a str,
    pub share: f32,
}

pub(crate) const fn col(title: &str, share: f32) -> Column<'_> {
    Column { title, share }
}

const CELL_PAD: f32 = 3.0;

/// Body pages being filled top to bottom.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    pub pages: Vec<Canvas>,
    pub headings: Vec<Heading>,
    /// The cursor, from the top of the current page.
    y: f32,
}

impl Flow {
    pub(crate) fn new() -> Flow {
        let mut flow = Flow::default();
        flow.new_page();
        flow
    }

    pub(crate) fn new_page(&mut self) {
        self.pages.push(Canvas::default());
        self.y = BODY_TOP;
    }

    fn canvas(&mut self) -> &mut Canvas {
        self.pages.last_mut().expect("a flow has a page")
    }

    pub(crate) fn page_index(&self) -> usize {
        self.pages.len() - 1
    }

    pub(crate) fn remaining(&self) -> f32 {
        BODY_BOTTOM - self.y
    }

    /// Starts a new page unless `height` still fits.
    pub(crate) fn ensure(&mut self, height: f32) {
        if self.y + height > BODY_BOTTOM && self.y > BODY_TOP {
            self.new_page();
        }
    }

    pub(crate) fn space(&mut self, height: f32) {
        self.y = (self.y + height).min(BODY_BOTTOM);
    }

    /// A heading of level 1 (new page), 2 or 3, kept with at least the next few lines.
    pub(crate) fn heading(&mut self, level: u8, title: &str) {
        self.heading_with_toc(level, title, title);
    }

    /// A heading listed in the contents under a longer title.
    pub(crate) fn heading_with_toc(&mut self, level: u8, title: &str, toc_title: &str) {
        let style = match level {
            1 => TextStyle::new(Face::Bold, 17.0, ACCENT),
            2 => TextStyle::new(Face::Bold, 13.0, ACCENT),
            _ => TextStyle::new(Face::Bold, 10.5, INK),
        };
        if level == 1 {
            if self.y > BODY_TOP {
                self.new_page();
            }
        } else {
            self.space(if level == 2 { 10.0 } else { 6.0 });
            self.ensure(style.line_height() + 4.0 * BODY.line_height());
        }
        self.headings.push(Heading {
            level,
            toc_title: toc_title.to_owned(),
            page: self.page_index(),
        });
        let lines = wrap(title, style, BODY_WIDTH);
        for line in lines {
            self.y += style.line_height();
            let y = self.y - style.size * 0.3;
            self.canvas().text(MARGIN_LEFT, y, style, &line);
        }
        if level == 1 {
            let y = self.y + 4.0;
            self.canvas()
                .line((MARGIN_LEFT, y), (MARGIN_LEFT + BODY_WIDTH, y), 1.0, ACCENT);
            self.y += 12.0;
        } else {
            self.y += 3.0;
        }
    }

    /// Wrapped text at an indent.
    pub(crate) fn paragraph_at(&mut self, indent: f32, style: TextStyle, text: &str) {
        for line in wrap(text, style, BODY_WIDTH - indent) {
            self.ensure(style.line_height());
            self.y += style.line_height();
            let y = self.y - style.size * 0.3;
            self.canvas().text(MARGIN_LEFT + indent, y, style, &line);
        }
    }

    pub(crate) fn paragraph(&mut self, style: TextStyle, text: &str) {
        self.paragraph_at(0.0, style, text);
        self.space(3.0);
    }

    /// A bold label, a value in its own style, then wrapped text after them.
    pub(crate) fn labelled_styled(
        &mut self,
        label: &str,
        style: TextStyle,
        value: &str,
        rest: &str,
    ) {
        let faces = Faces::get();
        let label_width = faces.width(LABEL.face, LABEL.size, label) + 4.0;
        let value_width = faces.width(style.face, style.size, &faces.drawable(value)) + 6.0;
        let offset = label_width + value_width;
        let lines = wrap(rest, BODY, BODY_WIDTH - offset);
        for (i, line) in lines.iter().enumerate() {
            self.ensure(BODY.line_height());
            self.y += BODY.line_height();
            let y = self.y - BODY.size * 0.3;
            if i == 0 {
                self.canvas().text(MARGIN_LEFT, y, LABEL, label);
                self.canvas()
                    .text(MARGIN_LEFT + label_width, y, style, value);
            }
            self.canvas().text(MARGIN_LEFT + offset, y, BODY, line);
        }
    }

    /// A table whose rows break across pages, the header repeated on every page it spans. A row
    /// taller than a page is itself split between pages.
    pub(crate) fn table(&mut self, columns: &[Column<'_>], rows: &[Vec<String>]) {
        let total: f32 = columns.iter().map(|c| c.share).sum();
        let widths: Vec<f32> = columns
            .iter()
            .map(|c| c.share / total * BODY_WIDTH)
            .collect();
        let header: Vec<Vec<String>> = columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| wrap(c.title, SMALL_BOLD, w - 2.0 * CELL_PAD))
            .collect();
        let header_lines = header.iter().map(Vec::len).max().unwrap_or(1);
        let line_h = SMALL.line_height();
        let header_h = header_lines as f32 * line_h + 2.0 * CELL_PAD;

        let draw_header = |flow: &mut Flow| {
            let top = flow.y;
            flow.canvas()
                .rect(MARGIN_LEFT, top, BODY_WIDTH, header_h, HEADER_FILL, None);
            let mut x = MARGIN_LEFT;
            for (lines, w) in header.iter().zip(&widths) {
                for (i, line) in lines.iter().enumerate() {
                    let baseline = top + CELL_PAD + (i as f32 + 1.0) * line_h - SMALL.size * 0.3;
                    flow.canvas().text(x + CELL_PAD, baseline, SMALL_BOLD, line);
                }
                x += w;
            }
            flow.y += header_h;
            let y = flow.y;
            flow.canvas()
                .line((MARGIN_LEFT, y), (MARGIN_LEFT + BODY_WIDTH, y), 0.6, MUTED);
        };

        self.ensure(header_h + line_h + 2.0 * CELL_PAD);
        draw_header(self);
        for row in rows {
            let cells: Vec<Vec<String>> = row
                .iter()
                .zip(&widths)
                .map(|(text, w)| wrap(text, SMALL, w - 2.0 * CELL_PAD))
                .collect();
            let row_lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let mut done = 0;
            while done < row_lines {
                let fits = ((self.remaining() - 2.0 * CELL_PAD) / line_h)
                    .floor()
                    .max(0.0) as usize;
                let take = (row_lines - done).min(fits);
                // Start the row on a new page when it would leave a stub of one or two lines.
                if take == 0 || (take < row_lines - done && take < 3 && done == 0) {
                    self.new_page();
                    draw_header(self);
                    continue;
                }
                let top = self.y;
                let mut x = MARGIN_LEFT;
                for (lines, w) in cells.iter().zip(&widths) {
                    for (i, line) in lines.iter().skip(done).take(take).enumerate() {
                        let baseline =
                            top + CELL_PAD + (i as f32 + 1.0) * line_h - SMALL.size * 0.3;
                        self.canvas().text(x + CELL_PAD, baseline, SMALL, line);
                    }
                    x += w;
                }
                self.y += take as f32 * line_h + 2.0 * CELL_PAD;
                let y = self.y;
                self.canvas()
                    .line((MARGIN_LEFT, y), (MARGIN_LEFT + BODY_WIDTH, y), 0.3, RULE);
                done += take;
                if done < row_lines {
                    self.new_page();
                    draw_header(self);
                }
            }
        }
        self.space(8.0);
    }

    /// Lines of code on a shaded band with an accent rule at the left, breaking across pages
    /// line by line. Leading spaces are kept as an indent; a line too long for the band wraps
    /// with a deeper indent, so a continuation is visibly one.
    pub(crate) fn code_block(&mut self, lines: &[String], style: TextStyle) {
        const PAD: f32 = 6.0;
        const CONTINUATION: f32 = 14.0;
        let faces = Faces::get();
        let line_h = style.line_height();
        let band = |flow: &mut Flow, height: f32| {
            let top = flow.y;
            flow.canvas()
                .rect(MARGIN_LEFT, top, BODY_WIDTH, height, CODE_FILL, None);
            flow.canvas()
                .rect(MARGIN_LEFT, top, 2.0, height, ACCENT, None);
            flow.y += height;
        };
        self.ensure(PAD + 3.0 * line_h);
        band(self, PAD / 2.0);
        for line in lines {
            let text = line.trim_start();
            let indent = faces.width(style.face, style.size, &line[..line.len() - text.len()]);
            let width = BODY_WIDTH - 2.0 * PAD - indent;
            for (k, piece) in wrap(text, style, width - CONTINUATION).iter().enumerate() {
                if self.y + line_h > BODY_BOTTOM {
                    self.new_page();
                }
                band(self, line_h);
                let extra = if k > 0 { CONTINUATION } else { 0.0 };
                let baseline = self.y - style.size * 0.35;
                self.canvas()
                    .text(MARGIN_LEFT + PAD + indent + extra, baseline, style, piece);
            }
        }
        band(self, PAD / 2.0);
        self.space(4.0);
    }

    /// Reserves `height` points (on a new page if needed) and lets `draw` paint into them; it
    /// receives the canvas and the top of the box.
    pub(crate) fn figure(&mut self, height: f32, draw: impl FnOnce(&mut Canvas, f32)) {
        self.ensure(height);
        let top = self.y;
        draw(self.canvas(), top);
        self.y += height;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_and_splits_what_cannot_fit() {
        let lines = wrap("the quick brown fox jumps over the lazy dog", BODY, 60.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert_eq!(
            lines.join(" "),
            "the quick brown fox jumps over the lazy dog"
        );
        let hash = "a".repeat(64);
        let lines = wrap(&hash, BODY, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), hash);
        for line in &lines {
            assert!(Faces::get().width(BODY.face, BODY.size, line) <= 100.0);
        }
    }

    #[test]
    fn tables_repeat_their_header_on_every_page() {
        let mut flow = Flow::new();
        let rows: Vec<Vec<String>> = (0..200)
            .map(|i| vec![format!("row {i}"), "x".to_owned()])
            .collect();
        flow.table(&[col("Name", 1.0), col("Value", 1.0)], &rows);
        assert!(flow.pages.len() >= 3);
        for page in &flow.pages {
            let has_header = page.ops.iter().any(|op| {
                matches!(op, Op::ShowText { items } if items == &vec![TextItem::Text("Name".to_owned())])
            });
            assert!(has_header);
        }
    }
}
