//! Vector figures: the coverage chart of the executive summary and the privilege-path figures
//! (positions from core's layered layout, scaled into the page). Lines and filled polygons
//! only: no raster image is ever embedded.

use super::fonts::Face;
use super::layout::{Canvas, INK, MARGIN_LEFT, MUTED, RULE, Rgb8, SMALL, SMALL_MUTED, TextStyle};
use crate::report::{ItemStatus, PathFigure};

/// The colour of each status, in [`ItemStatus::ALL`] order.
pub(crate) fn status_color(status: ItemStatus) -> Rgb8 {
    match status {
        ItemStatus::Met => Rgb8(0x2e, 0x7d, 0x4f),
        ItemStatus::PartlyMet => Rgb8(0xe0, 0xa1, 0x2b),
        ItemStatus::NotMet => Rgb8(0xc0, 0x39, 0x2b),
        ItemStatus::NotAssessed => Rgb8(0xb8, 0xbe, 0xc4),
    }
}

/// Height of [`coverage_chart`] for `rows` bars.
pub(crate) fn coverage_chart_height(rows: usize) -> f32 {
    rows as f32 * 22.0 + 34.0
}

/// Stacked horizontal bars: per function, its subcategories by status.
pub(crate) fn coverage_chart(c: &mut Canvas, top: f32, width: f32, rows: &[(String, [usize; 4])]) {
    let label_w = 70.0;
    let count_w = 30.0;
    let bar_w = width - label_w - count_w;
    for (i, (label, counts)) in rows.iter().enumerate() {
        let y = top + i as f32 * 22.0;
        let total: usize = counts.iter().sum();
        c.text(
            MARGIN_LEFT,
            y + 12.0,
            TextStyle::new(Face::Bold, 8.5, INK),
            label,
        );
        let mut x = MARGIN_LEFT + label_w;
        for status in ItemStatus::ALL {
            let n = counts[status as usize];
            if n == 0 || total == 0 {
                continue;
            }
            let w = bar_w * n as f32 / total as f32;
            c.rect(x, y + 2.0, w, 14.0, status_color(status), None);
            if w > 14.0 {
                let ink = if status == ItemStatus::NotAssessed {
                    INK
                } else {
                    Rgb8(0xff, 0xff, 0xff)
                };
                c.text_centred(
                    x + w / 2.0,
                    y + 12.0,
                    TextStyle::new(Face::Bold, 7.5, ink),
                    &n.to_string(),
                );
            }
            x += w;
        }
        c.text_right(
            MARGIN_LEFT + width,
            y + 12.0,
            SMALL_MUTED,
            &total.to_string(),
        );
    }
    // Legend.
    let y = top + rows.len() as f32 * 22.0 + 10.0;
    let mut x = MARGIN_LEFT + label_w;
    for status in ItemStatus::ALL {
        c.rect(x, y, 9.0, 9.0, status_color(status), None);
        c.text(x + 13.0, y + 8.0, SMALL, status.label());
        x += 90.0;
    }
}

fn kind_color(kind: &str) -> Rgb8 {
    match kind {
        "agent" => Rgb8(0xdd, 0xe8, 0xf6),
        "identity" => Rgb8(0xe8, 0xe1, 0xf4),
        "credential" => Rgb8(0xfb, 0xee, 0xd5),
        "tool" => Rgb8(0xdf, 0xf1, 0xe8),
        "resource" => Rgb8(0xee, 0xef, 0xf1),
        _ => Rgb8(0xf4, 0xf4, 0xf4),
    }
}

const NODE_H: f32 = 30.0;
/// Layout units between neighbouring rows of a layer (core's `NODE_SPACING`).
const ROW_UNITS: f32 = 64.0;
/// Layout units between layers (core's `LAYER_SPACING`).
const LAYER_UNITS: f32 = 240.0;
const GAP: f32 = 16.0;

/// Node width and scales: layers spread over the width, each box as wide as its column allows
/// (at most 110 pt); rows a box height plus a gap apart.
fn geometry(figure: &PathFigure, width: f32) -> (f32, f32, f32) {
    let layers = (figure.width as f32 / LAYER_UNITS).round() + 1.0;
    let node_w = ((width + GAP) / layers - GAP).min(110.0);
    let scale_x = if layers > 1.0 {
        (width - node_w) / (figure.width as f32)
    } else {
        0.0
    };
    let scale_x = scale_x.min((node_w + 40.0) / LAYER_UNITS);
    let scale_y = (NODE_H + 8.0) / ROW_UNITS;
    (node_w, scale_x, scale_y)
}

/// The height a path figure takes at `width`.
pub(crate) fn path_figure_height(figure: &PathFigure, width: f32) -> f32 {
    let (_, _, scale_y) = geometry(figure, width);
    figure.height as f32 * scale_y + NODE_H + 16.0
}

/// Draws a privilege-path figure: boxes per entity coloured by kind (crown jewels outlined in
/// red), arrows between them in layout order.
pub(crate) fn path_figure(c: &mut Canvas, top: f32, width: f32, figure: &PathFigure) {
    let (node_w, scale_x, scale_y) = geometry(figure, width);
    let origin_x = MARGIN_LEFT;
    let centre = |n: usize| {
        let node = &figure.nodes[n];
        (
            origin_x + node.x as f32 * scale_x + node_w / 2.0,
            top + 8.0 + node.y as f32 * scale_y + NODE_H / 2.0,
        )
    };
    for &(from, to) in &figure.edges {
        let (x1, y1) = centre(from);
        let (x2, y2) = centre(to);
        let start = (x1 + node_w / 2.0, y1);
        let end = (x2 - node_w / 2.0 - 1.0, y2);
        if x2 > x1 {
            let mid = (start.0 + end.0) / 2.0;
            c.polyline(&[start, (mid, start.1), (mid, end.1), end], 0.8, MUTED);
        } else {
            c.line(start, end, 0.8, MUTED);
        }
        c.polygon(
            &[end, (end.0 - 5.0, end.1 - 2.6), (end.0 - 5.0, end.1 + 2.6)],
            MUTED,
            None,
        );
    }
    let red = Rgb8(0xc0, 0x39, 0x2b);
    let kind_style = TextStyle::new(Face::Regular, 5.5, MUTED);
    let label_style = TextStyle::new(Face::Bold, 6.5, INK);
    for (i, node) in figure.nodes.iter().enumerate() {
        let (cx, cy) = centre(i);
        let x = cx - node_w / 2.0;
        let y = cy - NODE_H / 2.0;
        let stroke = if node.crown_jewel { red } else { RULE };
        c.rect(x, y, node_w, NODE_H, kind_color(&node.kind), Some(stroke));
        let inner = node_w - if node.crown_jewel { 10.0 } else { 6.0 };
        if node.crown_jewel {
            c.rect(x + node_w - 5.0, y, 5.0, NODE_H, red, None);
        }
        c.text(x + 3.0, y + 7.5, kind_style, &node.kind.to_uppercase());
        let lines = super::layout::wrap(&node.label, label_style, inner);
        for (n, line) in lines.iter().take(2).enumerate() {
            let text = if n == 1 && lines.len() > 2 {
                super::fit(
                    &format!("{line} {}", lines[2..].join(" ")),
                    label_style,
                    inner,
                )
            } else {
                line.clone()
            };
            c.text(x + 3.0, y + 16.0 + n as f32 * 8.0, label_style, &text);
        }
    }
}
