//! Draws a flow's diagram as the app laid it out (`FlowView.diagram`: layers from the start on
//! the left, node centres in layout units): one shape per step, coloured by kind and bordered by
//! its verification status, the failing checks' summaries under it, arrows for `next`, the edges
//! on a failing finding's path in red, and a marker on the start step. Nothing is moved here.

use bridle_protocol::flows::{FlowDiagram, FlowEdge, FlowNode};
use leptos::prelude::*;

const NODE_WIDTH: f64 = 164.0;
const NODE_HEIGHT: f64 = 54.0;
/// Characters per message line under a node, and lines per node.
const LINE_CHARS: usize = 30;
const MAX_LINES: usize = 4;

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Greedy word wrap into lines of at most `width` characters (long words are cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word = shorten(word, width);
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The message lines shown under a node: each failing summary wrapped, at most [`MAX_LINES`].
fn message_lines(messages: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = messages
        .iter()
        .flat_map(|m| wrap(&m.replace('`', ""), LINE_CHARS))
        .collect();
    if lines.len() > MAX_LINES {
        lines.truncate(MAX_LINES);
        if let Some(last) = lines.last_mut() {
            *last = format!("{}…", shorten(last, LINE_CHARS - 1).trim_end_matches('…'));
        }
    }
    lines
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "approval" => "approval",
        "issue" => "issue credential",
        "tool_call" => "tool call",
        "revoke" => "revoke",
        "end" => "end",
        other => other,
    }
}

/// The outline of a step by kind: approvals are hexagons (a gate), ends are pills, the rest
/// rounded boxes.
fn shape(kind: &str) -> AnyView {
    let (w, h) = (NODE_WIDTH / 2.0, NODE_HEIGHT / 2.0);
    match kind {
        "approval" => {
            let points = format!(
                "{},{} {},{} {},{} {},{} {},{} {},{}",
                -w + 12.0,
                -h,
                w - 12.0,
                -h,
                w,
                0.0,
                w - 12.0,
                h,
                -w + 12.0,
                h,
                -w,
                0.0
            );
            view! { <polygon class="node-shape" points=points /> }.into_any()
        }
        "end" => view! {
            <rect class="node-shape" x=-w y=-h width=NODE_WIDTH height=NODE_HEIGHT rx=h />
        }
        .into_any(),
        _ => view! {
            <rect class="node-shape" x=-w y=-h width=NODE_WIDTH height=NODE_HEIGHT rx="8" />
        }
        .into_any(),
    }
}

fn draw_node(node: &FlowNode) -> impl IntoView + use<> {
    let lines = message_lines(&node.messages);
    let tooltip = {
        let mut t = format!("{} ({})\n{}", node.id, node.kind, node.detail);
        for m in &node.messages {
            t.push('\n');
            t.push_str(m);
        }
        t
    };
    let start = node.is_start.then(|| {
        let x = -NODE_WIDTH / 2.0;
        view! {
            <g class="start-marker" data-test="start-marker">
                <circle cx=x - 30.0 cy="0" r="6" />
                <line x1=x - 24.0 y1="0" x2=x - 3.0 y2="0" marker-end="url(#flow-arrow)" />
                <text x=x - 30.0 y="-11" text-anchor="middle">"start"</text>
            </g>
        }
    });
    let message_view = lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let y = NODE_HEIGHT / 2.0 + 14.0 + 13.0 * i as f64;
            view! { <text class="node-message" x="0" y=y text-anchor="middle">{line}</text> }
        })
        .collect_view();
    view! {
        <g
            class=format!("flow-node kind-{} status-{}", node.kind, node.status)
            transform=format!("translate({:.1},{:.1})", node.x, node.y)
            data-step=node.id.clone()
            data-kind=node.kind.clone()
            data-status=node.status.clone()
        >
            <title>{tooltip}</title>
            {start}
            {shape(&node.kind)}
            <text class="node-kind" x="0" y="-12" text-anchor="middle">{kind_label(&node.kind).to_owned()}</text>
            <text class="node-label" x="0" y="4" text-anchor="middle">{shorten(&node.label, 22)}</text>
            <text class="node-detail" x="0" y="18" text-anchor="middle">{shorten(&node.detail, 24)}</text>
            {message_view}
        </g>
    }
}

/// Forward edges leave a node's right side for the next one's left side; edges that go back (or
/// stay in a layer) loop below the nodes so that they cannot hide behind them.
fn edge_path(from: &FlowNode, to: &FlowNode) -> String {
    let (w, h) = (NODE_WIDTH / 2.0, NODE_HEIGHT / 2.0);
    if to.x > from.x + 1.0 {
        let (x1, y1, x2, y2) = (from.x + w, from.y, to.x - w - 2.0, to.y);
        let dx = (x2 - x1) / 2.0;
        format!(
            "M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}",
            x1 + dx,
            x2 - dx
        )
    } else {
        let (x1, y1, x2, y2) = (from.x, from.y + h, to.x, to.y + h + 2.0);
        let dip = y1.max(y2) + 70.0;
        format!("M{x1:.1},{y1:.1} C{x1:.1},{dip:.1} {x2:.1},{dip:.1} {x2:.1},{y2:.1}")
    }
}

fn draw_edge(edge: &FlowEdge, nodes: &[FlowNode]) -> Option<impl IntoView + use<>> {
    let from = nodes.iter().find(|n| n.id == edge.from)?;
    let to = nodes.iter().find(|n| n.id == edge.to)?;
    let marker = if edge.highlighted {
        "url(#flow-arrow-fail)"
    } else {
        "url(#flow-arrow)"
    };
    Some(view! {
        <path
            class="flow-edge"
            class:highlighted=edge.highlighted
            d=edge_path(from, to)
            marker-end=marker
            data-from=edge.from.clone()
            data-to=edge.to.clone()
            data-highlighted=edge.highlighted.to_string()
        >
            <title>{format!("{} → {}", edge.from, edge.to)}</title>
        </path>
    })
}

/// The drawing's extent: the nodes, the start marker, the messages and the loops below.
fn extent(diagram: &FlowDiagram) -> (f64, f64, f64, f64) {
    let (w, h) = (NODE_WIDTH / 2.0, NODE_HEIGHT / 2.0);
    let min_x = diagram
        .nodes
        .iter()
        .map(|n| n.x - w - if n.is_start { 44.0 } else { 8.0 })
        .fold(f64::INFINITY, f64::min);
    let max_x = diagram
        .nodes
        .iter()
        .map(|n| n.x + w + 8.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let min_y = diagram
        .nodes
        .iter()
        .map(|n| n.y - h - 12.0)
        .fold(f64::INFINITY, f64::min);
    let has_loop = diagram.edges.iter().any(|e| {
        let x = |id: &str| diagram.nodes.iter().find(|n| n.id == id).map(|n| n.x);
        matches!((x(&e.from), x(&e.to)), (Some(a), Some(b)) if b <= a + 1.0)
    });
    let max_y = diagram
        .nodes
        .iter()
        .map(|n| {
            let lines = message_lines(&n.messages).len() as f64;
            n.y + h + 10.0 + 13.0 * lines + if has_loop { 60.0 } else { 0.0 }
        })
        .fold(f64::NEG_INFINITY, f64::max);
    (min_x, min_y, max_x - min_x, max_y - min_y)
}

#[component]
pub fn FlowDiagramView(diagram: FlowDiagram) -> impl IntoView {
    if diagram.nodes.is_empty() {
        return view! {
            <p class="muted diagram-empty" id="flow-diagram-empty">"No steps yet: add a step."</p>
        }
        .into_any();
    }
    let (x, y, width, height) = extent(&diagram);
    let edges = diagram
        .edges
        .iter()
        .filter_map(|e| draw_edge(e, &diagram.nodes))
        .collect_view();
    let nodes = diagram.nodes.iter().map(draw_node).collect_view();
    view! {
        <svg
            class="flow-svg"
            id="flow-diagram"
            viewBox=format!("{x:.1} {y:.1} {width:.1} {height:.1}")
            width=format!("{width:.0}")
            height=format!("{height:.0}")
            role="img"
            aria-label="The flow's steps and the ways between them"
        >
            <defs>
                <marker id="flow-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto">
                    <path fill="#7d8896" d="M0,0 L10,5 L0,10 z" />
                </marker>
                <marker id="flow-arrow-fail" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto">
                    <path fill="#d9480f" d="M0,0 L10,5 L0,10 z" />
                </marker>
            </defs>
            <g class="flow-edges">{edges}</g>
            <g class="flow-nodes">{nodes}</g>
        </svg>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_wrap_and_stop_at_four_lines() {
        assert_eq!(
            wrap("`stage` runs before its approval", 20),
            vec!["`stage` runs before", "its approval"]
        );
        let long = vec!["word ".repeat(60)];
        let lines = message_lines(&long);
        assert_eq!(lines.len(), MAX_LINES);
        assert!(lines.last().unwrap().ends_with('…'));
    }
}
