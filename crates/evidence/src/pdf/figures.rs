//! Vector figures: the coverage chart of the executive summary, the privilege-path figures
//! (positions from core's layered layout, scaled into the page) and the approval-flow diagrams
//! (the app's layered flow layout, put on a grid). Lines and filled polygons only: no raster
//! image is ever embedded.

use super::fonts::{Face, Faces};
use super::layout::{Canvas, INK, MARGIN_LEFT, MUTED, RULE, Rgb8, SMALL, SMALL_MUTED, TextStyle};
use crate::report::{FlowDiagram, FlowDiagramEdge, ItemStatus, PathFigure};

/// The colour of each status, in [`ItemStatus::ALL`] order.
pub(crate) fn status_color(status: ItemStatus) -> Rgb8 {
    match status {
        ItemStatus::Met => Rgb8(0x2e, 0x7d, 0x4f),
        ItemStatus::PartlyMet => Rgb8(0xe0, 0xa1, 0x2b),
        ItemStatus::NotMet => Rgb8(0xc0, 0x39, 0x2b),
        ItemStatus::ExceptionAccepted => Rgb8(0x8e, 0x44, 0xad),
        ItemStatus::NotAssessed => Rgb8(0xb8, 0xbe, 0xc4),
        ItemStatus::OutOfScope => Rgb8(0xe6, 0xe8, 0xea),
    }
}

/// Height of [`coverage_chart`] for `rows` bars.
pub(crate) fn coverage_chart_height(rows: usize) -> f32 {
    rows as f32 * 22.0 + 48.0
}

/// Stacked horizontal bars: per function, its subcategories by status.
pub(crate) fn coverage_chart(
    c: &mut Canvas,
    top: f32,
    width: f32,
    rows: &[(String, [usize; ItemStatus::ALL.len()])],
) {
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
                let ink = if matches!(status, ItemStatus::NotAssessed | ItemStatus::OutOfScope) {
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
    // Legend, three statuses a line.
    for (i, status) in ItemStatus::ALL.into_iter().enumerate() {
        let x = MARGIN_LEFT + label_w + (i % 3) as f32 * 130.0;
        let y = top + rows.len() as f32 * 22.0 + 10.0 + (i / 3) as f32 * 14.0;
        c.rect(x, y, 9.0, 9.0, status_color(status), None);
        c.text(x + 13.0, y + 8.0, SMALL, status.label());
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

/// The fill of a flow step's box by its kind.
fn step_fill(kind: &str) -> Rgb8 {
    match kind {
        "approval" => Rgb8(0xdd, 0xe8, 0xf6),
        "issue" => Rgb8(0xfb, 0xee, 0xd5),
        "tool_call" => Rgb8(0xdf, 0xf1, 0xe8),
        "revoke" => Rgb8(0xe8, 0xe1, 0xf4),
        _ => Rgb8(0xee, 0xef, 0xf1),
    }
}

/// The colour of a finding status (`pass`, `fail`, `unknown`, `none`) on a flow diagram.
pub(crate) fn finding_color(status: &str) -> Rgb8 {
    match status {
        "pass" | "accepted" => status_color(ItemStatus::Met),
        "fail" => status_color(ItemStatus::NotMet),
        "unknown" => status_color(ItemStatus::PartlyMet),
        _ => status_color(ItemStatus::NotAssessed),
    }
}

/// The flow kinds: the word on a step's box and the name in the legend.
const STEP_KINDS: [(&str, &str, &str); 5] = [
    ("approval", "APPROVAL", "approval"),
    ("issue", "ISSUE", "credential issue"),
    ("tool_call", "TOOL CALL", "tool call"),
    ("revoke", "REVOKE", "revocation"),
    ("end", "END", "end"),
];

const STEP_H: f32 = 46.0;
const LEGEND_H: f32 = 30.0;
/// At most this many layers run left to right; longer flows run top to bottom.
const MAX_ACROSS: usize = 5;
/// Room for the arrow into the start step (left of the first layer, or above it).
const ENTRY: f32 = 16.0;
/// Distance between the lanes of arrows that go back (or stay in their layer).
const LANE: f32 = 5.0;

/// Where each step of a flow diagram goes on the page.
struct FlowGrid {
    /// Per node: the top-left corner of its box, relative to the figure's top left.
    corners: Vec<(f32, f32)>,
    /// Per node: its layer (the distance from the start in the app's layout).
    layers: Vec<usize>,
    box_w: f32,
    box_h: f32,
    vertical: bool,
    /// Where the first lane of backward arrows runs: below the boxes (left to right) or to
    /// their right (top to bottom), relative to the figure.
    lanes: f32,
    height: f32,
}

/// The index of `value` among the distinct sorted `values`.
fn rank(values: &[f64], value: f64) -> usize {
    values.iter().take_while(|v| **v + 0.5 < value).count()
}

fn distinct(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values.dedup_by(|a, b| (*a - *b).abs() < 0.5);
    values
}

/// Whether an edge goes back to an earlier layer (drawn in a lane outside the boxes).
fn goes_back(layers: &[usize], edge: &FlowDiagramEdge) -> bool {
    layers[edge.to] < layers[edge.from]
}

fn valid(diagram: &FlowDiagram, edge: &FlowDiagramEdge) -> bool {
    edge.from < diagram.nodes.len() && edge.to < diagram.nodes.len() && edge.from != edge.to
}

fn flow_grid(diagram: &FlowDiagram, width: f32) -> FlowGrid {
    let xs = distinct(diagram.nodes.iter().map(|n| n.x).collect());
    let ys = distinct(diagram.nodes.iter().map(|n| n.y).collect());
    let layers = xs.len().max(1);
    let rows = ys.len().max(1);
    let cells: Vec<(usize, usize)> = diagram
        .nodes
        .iter()
        .map(|n| (rank(&xs, n.x), rank(&ys, n.y)))
        .collect();
    let node_layers: Vec<usize> = cells.iter().map(|c| c.0).collect();
    let back = diagram
        .edges
        .iter()
        .filter(|e| valid(diagram, e) && goes_back(&node_layers, e))
        .count();
    let lanes_room = if back > 0 {
        6.0 + back as f32 * LANE
    } else {
        0.0
    };
    let vertical = layers > MAX_ACROSS;
    let (across, down) = if vertical {
        (rows, layers)
    } else {
        (layers, rows)
    };
    let (left, top) = if vertical { (0.0, ENTRY) } else { (ENTRY, 4.0) };
    let room = width - left - if vertical { lanes_room } else { 0.0 };
    let gap_x = if vertical { 14.0 } else { 24.0 };
    let box_w = ((room - gap_x * (across as f32 - 1.0)) / across as f32).min(132.0);
    let pitch_x = if vertical || across < 2 {
        box_w + gap_x
    } else {
        ((room - box_w) / (across as f32 - 1.0)).min(box_w + 64.0)
    };
    let used_w = pitch_x * (across as f32 - 1.0) + box_w;
    let offset_x = left + ((room - used_w) / 2.0).max(0.0);
    let pitch_y = if vertical {
        (620.0 / down as f32).clamp(40.0, STEP_H + 22.0)
    } else {
        STEP_H + 12.0
    };
    let box_h = STEP_H.min(pitch_y - 12.0);
    let corners = cells
        .iter()
        .map(|&(layer, row)| {
            let (a, d) = if vertical { (row, layer) } else { (layer, row) };
            (offset_x + a as f32 * pitch_x, top + d as f32 * pitch_y)
        })
        .collect();
    let boxes_bottom = top + (down as f32 - 1.0) * pitch_y + box_h;
    FlowGrid {
        corners,
        layers: node_layers,
        box_w,
        box_h,
        vertical,
        lanes: if vertical {
            offset_x + used_w + 6.0
        } else {
            boxes_bottom + 6.0
        },
        height: boxes_bottom + if vertical { 0.0 } else { lanes_room } + 10.0 + LEGEND_H,
    }
}

/// The height [`flow_diagram`] takes at `width`.
pub(crate) fn flow_diagram_height(diagram: &FlowDiagram, width: f32) -> f32 {
    flow_grid(diagram, width).height
}

fn arrow_head(c: &mut Canvas, from: (f32, f32), to: (f32, f32), size: f32, color: Rgb8) {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let length = (dx * dx + dy * dy).sqrt().max(f32::EPSILON);
    let (ux, uy) = (dx / length, dy / length);
    let back = (to.0 - ux * size * 2.0, to.1 - uy * size * 2.0);
    c.polygon(
        &[
            to,
            (back.0 - uy * size, back.1 + ux * size),
            (back.0 + uy * size, back.1 - ux * size),
        ],
        color,
        None,
    );
}

/// Draws an approval flow: one box per step (filled by kind, a status strip and word), an arrow
/// into the start, arrows between steps (red and heavier on a failing finding's path; arrows
/// that go back run in lanes outside the boxes), and a legend. Layers run left to right, or
/// top to bottom for long flows.
pub(crate) fn flow_diagram(c: &mut Canvas, top: f32, width: f32, diagram: &FlowDiagram) {
    let grid = flow_grid(diagram, width);
    let (w, h) = (grid.box_w, grid.box_h);
    let corner = |i: usize| {
        let (x, y) = grid.corners[i];
        (MARGIN_LEFT + x, top + y)
    };
    let centre = |i: usize| {
        let (x, y) = corner(i);
        (x + w / 2.0, y + h / 2.0)
    };
    let red = finding_color("fail");
    let mut edges: Vec<(usize, &FlowDiagramEdge)> = Vec::new();
    let mut lane = 0;
    for edge in diagram.edges.iter().filter(|e| valid(diagram, e)) {
        let k = if goes_back(&grid.layers, edge) {
            lane += 1;
            lane - 1
        } else {
            0
        };
        edges.push((k, edge));
    }
    // Highlighted arrows last, so they are drawn over the others.
    edges.sort_by_key(|(_, e)| e.highlighted);
    for (k, edge) in edges {
        let (color, thickness) = if edge.highlighted {
            (red, 1.8)
        } else {
            (MUTED, 0.8)
        };
        let (a, b) = (centre(edge.from), centre(edge.to));
        let same_layer = grid.layers[edge.to] == grid.layers[edge.from];
        let points = match (goes_back(&grid.layers, edge), grid.vertical) {
            // Within a layer: straight from one box's facing side to the other's.
            (false, false) if same_layer => {
                let down = if b.1 > a.1 { 1.0 } else { -1.0 };
                vec![
                    (a.0, a.1 + down * h / 2.0),
                    (b.0, b.1 - down * (h / 2.0 + 0.5)),
                ]
            }
            (false, true) if same_layer => {
                let right = if b.0 > a.0 { 1.0 } else { -1.0 };
                vec![
                    (a.0 + right * w / 2.0, a.1),
                    (b.0 - right * (w / 2.0 + 0.5), b.1),
                ]
            }
            (false, false) => {
                let start = (a.0 + w / 2.0, a.1);
                let end = (b.0 - w / 2.0 - 0.5, b.1);
                let bend = start.0 + 10.0;
                if (start.1 - end.1).abs() < 0.5 {
                    vec![start, end]
                } else {
                    vec![start, (bend, start.1), (bend, end.1), end]
                }
            }
            (false, true) => {
                let start = (a.0, a.1 + h / 2.0);
                let end = (b.0, b.1 - h / 2.0 - 0.5);
                let bend = start.1 + 7.0;
                if (start.0 - end.0).abs() < 0.5 {
                    vec![start, end]
                } else {
                    vec![start, (start.0, bend), (end.0, bend), end]
                }
            }
            (true, false) => {
                // Out of the right side into the gap between columns, down to its lane below
                // every box, back along it, up the gap before the target, into its left side.
                let y = top + grid.lanes + k as f32 * LANE;
                let (y1, y2) = (a.1 + h / 4.0, b.1 + h / 4.0);
                let (x1, x2) = (a.0 + w / 2.0, b.0 - w / 2.0);
                vec![
                    (x1, y1),
                    (x1 + 5.0, y1),
                    (x1 + 5.0, y),
                    (x2 - 6.0, y),
                    (x2 - 6.0, y2),
                    (x2 - 0.5, y2),
                ]
            }
            (true, true) => {
                // Out of the bottom into the gap between layers, right to its lane beside every
                // box, back up it, along the gap above the target, into its top.
                let x = MARGIN_LEFT + grid.lanes + k as f32 * LANE;
                let (x1, x2) = (a.0 + w / 4.0, b.0 + w / 4.0);
                let (y1, y2) = (a.1 + h / 2.0, b.1 - h / 2.0);
                vec![
                    (x1, y1),
                    (x1, y1 + 4.0),
                    (x, y1 + 4.0),
                    (x, y2 - 5.0),
                    (x2, y2 - 5.0),
                    (x2, y2 - 0.5),
                ]
            }
        };
        c.polyline(&points, thickness, color);
        let n = points.len();
        arrow_head(
            c,
            points[n - 2],
            points[n - 1],
            if edge.highlighted { 3.2 } else { 2.6 },
            color,
        );
    }

    let kind_style = TextStyle::new(Face::Regular, 5.5, MUTED);
    let label_style = TextStyle::new(Face::Bold, 7.0, INK);
    let detail_style = TextStyle::new(Face::Regular, 6.0, INK);
    for (i, node) in diagram.nodes.iter().enumerate() {
        let (x, y) = corner(i);
        let status = finding_color(&node.status);
        let stroke = if node.status == "fail" { red } else { RULE };
        c.rect(x, y, w, h, step_fill(&node.kind), Some(stroke));
        c.rect(x, y, 3.5, h, status, None);
        let inner_x = x + 6.5;
        let inner_w = w - 9.0;
        let kind = STEP_KINDS
            .iter()
            .find(|(k, _, _)| *k == node.kind)
            .map_or_else(
                || node.kind.to_uppercase(),
                |(_, word, _)| (*word).to_owned(),
            );
        let word = match node.status.as_str() {
            "none" => String::new(),
            other => other.to_uppercase(),
        };
        let word_style = TextStyle::new(Face::Bold, 5.5, status);
        let word_w = Faces::get().width(word_style.face, word_style.size, &word);
        c.text(
            inner_x,
            y + 7.5,
            kind_style,
            &super::fit(&kind, kind_style, inner_w - word_w - 3.0),
        );
        c.text_right(x + w - 3.0, y + 7.5, word_style, &word);
        c.text(
            inner_x,
            y + 17.0,
            label_style,
            &super::fit(&node.label, label_style, inner_w),
        );
        let lines = super::layout::wrap(&node.detail, detail_style, inner_w);
        let room = ((h - 21.0) / 7.5).floor().max(0.0) as usize;
        for (n, line) in lines.iter().take(room).enumerate() {
            let text = if n + 1 == room && lines.len() > room {
                super::fit(&lines[n..].join(" "), detail_style, inner_w)
            } else {
                line.clone()
            };
            c.text(inner_x, y + 25.5 + n as f32 * 7.5, detail_style, &text);
        }
        if node.start {
            // The arrow into the start.
            let (cx, cy) = centre(i);
            let (from, tip) = if grid.vertical {
                ((cx, y - ENTRY + 2.0), (cx, y - 0.5))
            } else {
                ((cx - w / 2.0 - ENTRY + 2.0, cy), (x - 0.5, cy))
            };
            c.line(from, tip, 1.2, INK);
            arrow_head(c, from, tip, 2.6, INK);
        }
    }

    // Legend.
    let legend = TextStyle::new(Face::Regular, 6.5, INK);
    let mut y = top + grid.height - LEGEND_H + 8.0;
    let mut x = MARGIN_LEFT;
    for (kind, _, name) in STEP_KINDS {
        c.rect(x, y, 9.0, 7.0, step_fill(kind), Some(RULE));
        c.text(x + 12.0, y + 6.3, legend, name);
        x += 20.0 + Faces::get().width(legend.face, legend.size, name);
    }
    c.line((x, y + 3.5), (x + 12.0, y + 3.5), 1.2, INK);
    arrow_head(c, (x, y + 3.5), (x + 12.0, y + 3.5), 2.6, INK);
    c.text(x + 16.0, y + 6.3, legend, "start");
    y += 12.0;
    let mut x = MARGIN_LEFT;
    for (status, name) in [
        ("pass", "checks about the step pass"),
        ("fail", "a check fails"),
        ("unknown", "undecided"),
    ] {
        c.rect(x, y, 3.5, 7.0, finding_color(status), None);
        c.text(x + 7.0, y + 6.3, legend, name);
        x += 16.0 + Faces::get().width(legend.face, legend.size, name);
    }
    c.line((x, y + 3.5), (x + 16.0, y + 3.5), 1.8, red);
    arrow_head(c, (x, y + 3.5), (x + 16.0, y + 3.5), 3.0, red);
    c.text(x + 20.0, y + 6.3, legend, "path shown by a failing finding");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FlowDiagramNode;

    /// A flow of `n` steps in a line (layers along x), ending with a step that loops back.
    fn chain(n: usize) -> FlowDiagram {
        FlowDiagram {
            nodes: (0..n)
                .map(|i| FlowDiagramNode {
                    id: format!("s{i}"),
                    kind: "tool_call".into(),
                    label: format!("s{i}"),
                    detail: String::new(),
                    status: "none".into(),
                    start: i == 0,
                    x: 90.0 + 210.0 * i as f64,
                    y: 54.0,
                })
                .collect(),
            edges: (1..n)
                .map(|i| FlowDiagramEdge {
                    from: i - 1,
                    to: i,
                    highlighted: false,
                })
                .chain([FlowDiagramEdge {
                    from: n - 1,
                    to: 0,
                    highlighted: true,
                }])
                .collect(),
        }
    }

    #[test]
    fn short_flows_run_across_long_ones_down_and_both_fit_the_page() {
        let width = super::super::layout::BODY_WIDTH;
        for (n, vertical) in [(3, false), (5, false), (6, true), (14, true)] {
            let diagram = chain(n);
            let grid = flow_grid(&diagram, width);
            assert_eq!(grid.vertical, vertical, "{n} steps");
            assert!(grid.box_w >= 60.0, "{n} steps: boxes {} wide", grid.box_w);
            for &(x, y) in &grid.corners {
                assert!(x >= 0.0 && x + grid.box_w <= width, "{n} steps: x {x}");
                assert!(
                    y >= 0.0 && y + grid.box_h <= grid.height,
                    "{n} steps: y {y}"
                );
            }
            assert!(grid.lanes <= width && grid.height < 700.0, "{n} steps");
            let mut canvas = Canvas::default();
            flow_diagram(&mut canvas, 100.0, width, &diagram);
            assert!(!canvas.ops.is_empty());
        }
    }
}
