//! The two embedded faces (DejaVu Sans regular and bold, from `assets/fonts/`) and text
//! measurement from their own advance widths, so wrapping matches what the viewer draws.
//!
//! The faces are compiled into the binary: the PDF never depends on fonts installed on the
//! machine, which is also what makes the output byte-identical everywhere.

use std::sync::OnceLock;

use printpdf::ParsedFont;

const REGULAR: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

/// The parsed faces, parsed once per process.
pub(crate) struct Faces {
    pub regular: ParsedFont,
    pub bold: ParsedFont,
}

impl Faces {
    pub(crate) fn get() -> &'static Faces {
        static FACES: OnceLock<Faces> = OnceLock::new();
        FACES.get_or_init(|| {
            let parse = |bytes: &[u8], name: &str| {
                ParsedFont::from_bytes(bytes, 0, &mut Vec::new())
                    .unwrap_or_else(|| panic!("the embedded font {name} does not parse"))
            };
            Faces {
                regular: parse(REGULAR, "DejaVuSans.ttf"),
                bold: parse(BOLD, "DejaVuSans-Bold.ttf"),
            }
        })
    }

    pub(crate) fn face(&self, face: Face) -> &ParsedFont {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    /// The width of `text` in points at `size`.
    pub(crate) fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        let font = self.face(face);
        let units = f32::from(font.units_per_em.max(1));
        let advance: u32 = text
            .chars()
            .map(|c| {
                font.codepoint_to_glyph
                    .get(&(c as u32))
                    .and_then(|gid| font.glyph_widths.get(gid))
                    .copied()
                    .map_or(u32::from(font.units_per_em / 2), u32::from)
            })
            .sum();
        advance as f32 * size / units
    }

    /// `text` with every character the faces cannot draw replaced by a visible `[U+XXXX]`, so a
    /// name in a script DejaVu lacks (CJK) shows up as code points instead of vanishing.
    pub(crate) fn drawable(&self, text: &str) -> String {
        let font = &self.regular;
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if c == '\t' {
                out.push_str("    ");
            } else if c.is_control() {
                out.push(' ');
            } else if font.codepoint_to_glyph.contains_key(&(c as u32)) {
                out.push(c);
            } else {
                out.push_str(&format!("[U+{:04X}]", c as u32));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_replaces_missing_glyphs() {
        let faces = Faces::get();
        let narrow = faces.width(Face::Regular, 10.0, "iii");
        let wide = faces.width(Face::Regular, 10.0, "WWW");
        assert!(narrow > 0.0 && wide > narrow * 2.0, "{narrow} {wide}");
        assert!(faces.width(Face::Bold, 10.0, "abc") > faces.width(Face::Regular, 10.0, "abc"));
        assert_eq!(faces.drawable("Zoë 中"), "Zoë [U+4E2D]");
    }
}
