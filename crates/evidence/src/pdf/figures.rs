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

const NODE_W: f32 = 104.0;
const NODE_H: f32 = 26.0;

/// The height a path figure takes at `width`.
pub(crate) fn path_figure_height(figure: &PathFigure, width: f32) -> f32 {
    let (scale_x, scale_y) = scales(figure, width);
    let _ = scale_x;
    figure.height as f32 * scale_y + NODE_H + 30.0
}

fn scales(figure: &PathFigure, width: f32) -> (f32, f32) {
    let span_x = figure.width.max(1.0) as f32;
    let scale_x = ((width - NODE_W) / span_x).min(0.6);
    // Layout units are the same in both directions; keep rows at least a node apart.
    let scale_y = scale_x.max(NODE_H * 1.35 / 64.0);
    (scale_x, scale_y)
}

/// Draws a privilege-path figure: boxes per entity coloured by kind (crown jewels outlined in
/// red), arrows between them in layout order.
pub(crate) fn path_figure(c: &mut Canvas, top: f32, width: f32, figure: &PathFigure) {
    let (scale_x, scale_y) = scales(figure, width);
    let origin_x = MARGIN_LEFT
        + if figure.width <= 0.0 {
            (width - NODE_W) / 2.0
        } else {
            0.0
        };
    let centre = |n: usize| {
        let node = &figure.nodes[n];
        (
            origin_x + node.x as f32 * scale_x + NODE_W / 2.0,
            top + 8.0 + node.y as f32 * scale_y + NODE_H / 2.0,
        )
    };
    for &(from, to) in &figure.edges {
        let (x1, y1) = centre(from);
        let (x2, y2) = centre(to);
        let start = (x1 + NODE_W / 2.0, y1);
        let end = (x2 - NODE_W / 2.0 - 1.0, y2);
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
    for (i, node) in figure.nodes.iter().enumerate() {
        let (cx, cy) = centre(i);
        let x = cx - NODE_W / 2.0;
        let y = cy - NODE_H / 2.0;
        c.rect(
            x,
            y,
            NODE_W,
            NODE_H,
            kind_color(&node.kind),
            Some(if node.crown_jewel { red } else { RULE }),
        );
        if node.crown_jewel {
            c.rect(x + NODE_W - 6.0, y, 6.0, NODE_H, red, None);
        }
        let kind_style = TextStyle::new(Face::Regular, 6.0, MUTED);
        let label_style = TextStyle::new(Face::Bold, 7.0, INK);
        c.text(x + 4.0, y + 9.0, kind_style, &node.kind.to_uppercase());
        c.text(
            x + 4.0,
            y + 19.5,
            label_style,
            &super::fit(&node.label, label_style, NODE_W - 12.0),
        );
    }
}
