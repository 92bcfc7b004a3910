//! Geometry of the graph view: node boxes, edge curves and the pan/zoom viewport, in the layout
//! units that `app` sends (the same positions the PDF report draws).

/// A node is drawn as a box centred on its layout position.
pub const NODE_WIDTH: f64 = 200.0;
pub const NODE_HEIGHT: f64 = 44.0;
/// Room above the first row for the layer headings ("1 hop", "2 hops" …).
pub const HEADER_SPACE: f64 = 44.0;
/// Zoom limits: small enough to see 2,000 nodes at once, large enough to read a label.
pub const MIN_SCALE: f64 = 0.02;
pub const MAX_SCALE: f64 = 2.5;
/// Below this scale the labels cannot be read.
pub const READABLE_SCALE: f64 = 0.35;

/// The SVG path of an edge between two node centres. Forward edges leave the right side of a box
/// and enter the left side of the next (a horizontal S-curve); edges back to the same or an
/// earlier layer arc above the boxes so they do not hide under them.
pub fn edge_path(from: (f64, f64), to: (f64, f64)) -> String {
    let half = NODE_WIDTH / 2.0;
    if to.0 > from.0 {
        let (x1, y1) = (from.0 + half, from.1);
        let (x2, y2) = (to.0 - half, to.1);
        let middle = (x1 + x2) / 2.0;
        format!("M{x1:.1},{y1:.1} C{middle:.1},{y1:.1} {middle:.1},{y2:.1} {x2:.1},{y2:.1}")
    } else {
        let top = NODE_HEIGHT / 2.0;
        let (x1, y1) = (from.0, from.1 - top);
        let (x2, y2) = (to.0, to.1 - top);
        let lift = 40.0 + (x1 - x2).abs() * 0.15;
        let peak = y1.min(y2) - lift;
        format!("M{x1:.1},{y1:.1} C{x1:.1},{peak:.1} {x2:.1},{peak:.1} {x2:.1},{y2:.1}")
    }
}

/// Pan and zoom: screen = layout × scale + (x, y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub scale: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Viewport {
            x: 0.0,
            y: 0.0,
            scale: 1.0,
        }
    }
}

impl Viewport {
    /// The viewport showing a `width` × `height` layout whole, centred in a `screen_width` ×
    /// `screen_height` area, never magnified beyond 1.
    pub fn fit(width: f64, height: f64, screen_width: f64, screen_height: f64) -> Viewport {
        let margin = 24.0;
        let (left, top) = (-NODE_WIDTH / 2.0, -NODE_HEIGHT / 2.0 - HEADER_SPACE);
        let content_width = width + NODE_WIDTH;
        let content_height = height + NODE_HEIGHT + HEADER_SPACE;
        let scale = ((screen_width - 2.0 * margin) / content_width)
            .min((screen_height - 2.0 * margin) / content_height)
            .clamp(MIN_SCALE, 1.0);
        Viewport {
            x: (screen_width - content_width * scale) / 2.0 - left * scale,
            y: (screen_height - content_height * scale) / 2.0 - top * scale,
            scale,
        }
    }

    /// The first view of a layout: the whole of it when that is readable (scale at least
    /// [`READABLE_SCALE`]); otherwise the source at a readable scale, at the left and mid-height,
    /// for the user to pan from (or narrow by hops, or press Fit).
    pub fn initial(
        width: f64,
        height: f64,
        source: (f64, f64),
        screen_width: f64,
        screen_height: f64,
    ) -> Viewport {
        let fit = Viewport::fit(width, height, screen_width, screen_height);
        if fit.scale >= READABLE_SCALE {
            return fit;
        }
        let scale = 0.6;
        Viewport {
            x: 24.0 + (NODE_WIDTH / 2.0 - source.0) * scale,
            y: screen_height / 2.0 - source.1 * scale,
            scale,
        }
    }

    /// Zooms by `factor` keeping the layout point under the screen point `(px, py)` in place.
    pub fn zoom_at(self, factor: f64, px: f64, py: f64) -> Viewport {
        let scale = (self.scale * factor).clamp(MIN_SCALE, MAX_SCALE);
        let ratio = scale / self.scale;
        Viewport {
            x: px - (px - self.x) * ratio,
            y: py - (py - self.y) * ratio,
            scale,
        }
    }

    pub fn transform(&self) -> String {
        format!(
            "translate({:.2},{:.2}) scale({:.4})",
            self.x, self.y, self.scale
        )
    }
}

/// Shortens a label to `max` characters with an ellipsis (the full text is in the tooltip).
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// The heading of a layer: `source`, `1 hop`, `2 hops`.
pub fn hops_heading(hops: u32) -> String {
    match hops {
        0 => "source".to_owned(),
        1 => "1 hop".to_owned(),
        n => format!("{n} hops"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_edges_join_box_sides_and_back_edges_arc_above() {
        assert_eq!(
            edge_path((0.0, 0.0), (240.0, 64.0)),
            "M100.0,0.0 C120.0,0.0 120.0,64.0 140.0,64.0"
        );
        let back = edge_path((240.0, 0.0), (0.0, 0.0));
        assert!(back.starts_with("M240.0,-22.0 C240.0,-98.0"), "{back}");
    }

    #[test]
    fn fit_shows_everything_and_zoom_keeps_the_point_under_the_cursor() {
        let fit = Viewport::fit(960.0, 1280.0, 1000.0, 600.0);
        let screen = |v: &Viewport, x: f64, y: f64| (x * v.scale + v.x, y * v.scale + v.y);
        let (left, top) = screen(&fit, -NODE_WIDTH / 2.0, -NODE_HEIGHT / 2.0 - HEADER_SPACE);
        let (right, bottom) = screen(&fit, 960.0 + NODE_WIDTH / 2.0, 1280.0 + NODE_HEIGHT / 2.0);
        assert!(left >= 23.9 && right <= 1000.1 - 23.9, "{left} {right}");
        assert!(top >= 23.9 && bottom <= 600.1 - 23.9, "{top} {bottom}");
        assert_eq!(Viewport::fit(0.0, 0.0, 1000.0, 600.0).scale, 1.0);

        let zoomed = fit.zoom_at(1.5, 300.0, 200.0);
        let before = ((300.0 - fit.x) / fit.scale, (200.0 - fit.y) / fit.scale);
        let after = (
            (300.0 - zoomed.x) / zoomed.scale,
            (200.0 - zoomed.y) / zoomed.scale,
        );
        assert!((before.0 - after.0).abs() < 1e-9 && (before.1 - after.1).abs() < 1e-9);
        assert_eq!(fit.zoom_at(1e9, 0.0, 0.0).scale, MAX_SCALE);
    }

    #[test]
    fn a_huge_layout_starts_at_its_source_at_a_readable_scale() {
        let small = Viewport::initial(1200.0, 200.0, (0.0, 100.0), 1000.0, 600.0);
        assert_eq!(small, Viewport::fit(1200.0, 200.0, 1000.0, 600.0));
        let huge = Viewport::initial(8400.0, 64_000.0, (0.0, 32_000.0), 1000.0, 600.0);
        assert_eq!(huge.scale, 0.6);
        let (sx, sy) = (huge.x, 32_000.0 * huge.scale + huge.y);
        assert_eq!((sx - NODE_WIDTH / 2.0 * huge.scale, sy), (24.0, 300.0));
    }

    #[test]
    fn labels_shorten_with_an_ellipsis() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("réseau-été", 5), "rése…");
        assert_eq!(hops_heading(1), "1 hop");
    }
}
