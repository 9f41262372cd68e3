//! The two standard PDF base fonts the layout uses (Helvetica, Helvetica-Bold): WinAnsi
//! encoding and the Adobe AFM advance widths, so text can be measured without a font file.

/// A base font.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Font {
    /// Helvetica.
    Regular,
    /// Helvetica-Bold.
    Bold,
}

/// Advance widths (1/1000 em) of Helvetica for WinAnsi codes 32..=255.
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
    350, 556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
    222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667, 278, 333, 556,
    556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 556,
    537, 278, 333, 333, 365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667,
    667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722,
    722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278,
    278, 556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Advance widths (1/1000 em) of Helvetica-Bold for WinAnsi codes 32..=255.
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    350, 556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
    278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667, 278, 333, 556,
    556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 611,
    556, 278, 333, 333, 365, 556, 834, 834, 834, 611, 722, 722, 722, 722, 722, 722, 1000, 722, 667,
    667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722,
    722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278,
    278, 611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

impl Font {
    /// The width of WinAnsi-encoded text at `size` points.
    pub(crate) fn width(self, encoded: &[u8], size: f32) -> f32 {
        let table = match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        let units: u32 = encoded
            .iter()
            .map(|&b| {
                if b >= 32 {
                    u32::from(table[usize::from(b - 32)])
                } else {
                    0
                }
            })
            .sum();
        units as f32 * size / 1000.0
    }

    /// The width of `text` (encoded first) at `size` points.
    pub(crate) fn text_width(self, text: &str, size: f32) -> f32 {
        self.width(&encode(text), size)
    }
}

/// Encodes text in WinAnsiEncoding (Windows-1252); a character it cannot show becomes `?`,
/// control characters are dropped.
pub(crate) fn encode(text: &str) -> Vec<u8> {
    text.chars().filter_map(encode_char).collect()
}

fn encode_char(c: char) -> Option<u8> {
    let code = u32::from(c);
    if code < 32 || code == 127 {
        return if c == '\t' { Some(b' ') } else { None };
    }
    if code < 127 || (0xA0..=0xFF).contains(&code) {
        return u8::try_from(code).ok();
    }
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '\u{2018}' => 0x91,
        '\u{2019}' => 0x92,
        '\u{201C}' => 0x93,
        '\u{201D}' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        '\u{2009}' | '\u{202F}' | '\u{2002}' | '\u{2003}' => b' ',
        '\u{2011}' | '\u{2010}' | '\u{2212}' => b'-',
        _ => b'?',
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_win_ansi() {
        assert_eq!(encode("A€é—"), vec![b'A', 0x80, 0xE9, 0x97]);
        assert_eq!(encode("日"), vec![b'?']);
        assert_eq!(encode("a\u{1}b"), vec![b'a', b'b']);
    }

    #[test]
    fn widths_follow_the_afm_tables() {
        // Helvetica: "0" 556, "i" 222; bold "i" 278.
        assert!((Font::Regular.text_width("0i", 10.0) - 7.78).abs() < 1e-4);
        assert!((Font::Bold.text_width("i", 10.0) - 2.78).abs() < 1e-4);
    }
}
