//! A small page layout for A4 documents: a header with the logo, labelled fields,
//! headings and wrapped paragraphs, page breaks where the text reaches the bottom, and
//! a footer with "Página i de n" — laid out first, drawn after, so the page count is
//! known. Text is DejaVu Sans (embedded, subset by krilla), which has every letter
//! Spanish needs; a character the font lacks shows as its empty box, never an error.

use std::sync::Arc;

use krilla::{
    Document,
    color::rgb,
    geom::{PathBuilder, Point, Rect, Size, Transform},
    image::Image,
    metadata::Metadata,
    page::PageSettings,
    paint::Fill,
    text::{Font, TextDirection},
};

use crate::DocumentError;

static REGULAR: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../assets/DejaVuSans-Bold.ttf");
static LOGO: &[u8] = include_bytes!("../assets/logo.png");

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.0;
const BOTTOM: f32 = PAGE_H - MARGIN - 24.0;
const LABEL_W: f32 = 140.0;
const BODY: f32 = 10.5;
const LINE: f32 = 14.5;

#[derive(Clone, Copy)]
pub(crate) enum Style {
    Regular,
    Bold,
}

#[derive(Clone, Copy)]
enum Ink {
    Text,
    Muted,
    Brand,
}

impl Ink {
    fn color(self) -> rgb::Color {
        match self {
            Self::Text => rgb::Color::new(0x1f, 0x29, 0x37),
            Self::Muted => rgb::Color::new(0x6b, 0x72, 0x80),
            Self::Brand => rgb::Color::new(0x0f, 0x76, 0x6e),
        }
    }
}

enum Item {
    Text {
        x: f32,
        baseline: f32,
        style: Style,
        size: f32,
        ink: Ink,
        text: String,
    },
    Rule {
        y: f32,
    },
    Logo {
        x: f32,
        y: f32,
        side: f32,
    },
    /// A filled rectangle in the text's colour (a QR module, a box's side).
    Block {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

struct Faces {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
}

impl Faces {
    fn width(&self, style: Style, size: f32, text: &str) -> f32 {
        let face = match style {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
        };
        let em = f32::from(face.units_per_em());
        let units: f32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(em / 2.0, f32::from)
            })
            .sum();
        units * size / em
    }

    /// `text` in lines no wider than `width`; its own line breaks kept, a word longer
    /// than a line cut where it must be.
    fn wrap(&self, style: Style, size: f32, width: f32, text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(style, size, &candidate) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                for c in word.chars() {
                    line.push(c);
                    if self.width(style, size, &line) > width {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            lines.push(line);
        }
        lines
    }
}

/// Control characters people's text may carry, out (a tab is a space).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

/// A document being laid out, page by page.
pub(crate) struct Layout {
    faces: Faces,
    pages: Vec<Vec<Item>>,
    y: f32,
}

impl Layout {
    pub(crate) fn new() -> Result<Self, DocumentError> {
        let face =
            |data| ttf_parser::Face::parse(data, 0).map_err(|e| DocumentError(e.to_string()));
        Ok(Self {
            faces: Faces {
                regular: face(REGULAR)?,
                bold: face(BOLD)?,
            },
            pages: vec![Vec::new()],
            y: MARGIN,
        })
    }

    fn push(&mut self, item: Item) {
        if let Some(page) = self.pages.last_mut() {
            page.push(item);
        }
    }

    /// Room for `height` more, on a new page if this one is full.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn text(&mut self, x: f32, style: Style, size: f32, ink: Ink, text: String) {
        let baseline = self.y + size;
        self.push(Item::Text {
            x,
            baseline,
            style,
            size,
            ink,
            text,
        });
    }

    /// The logo, the brand and the document's title.
    pub(crate) fn header(&mut self, title: &str, subtitle: &str) {
        let side = 46.0;
        self.push(Item::Logo {
            x: MARGIN,
            y: self.y,
            side,
        });
        let x = MARGIN + side + 14.0;
        self.text(x, Style::Bold, 18.0, Ink::Brand, "AMAR Mascotas".into());
        self.y += 24.0;
        self.text(x, Style::Regular, 12.0, Ink::Text, clean(title));
        self.y += 18.0;
        self.text(x, Style::Regular, 9.0, Ink::Muted, clean(subtitle));
        self.y = MARGIN + side + 16.0;
        self.rule();
    }

    /// A box at the top centre with the receipt's class letter and its AFIP code, as the
    /// law wants every receipt to show.
    pub(crate) fn letter_box(&mut self, letter: char, code: &str) {
        // Right of the centre, clear of the brand beside the logo.
        let (side, x, y) = (44.0, PAGE_W / 2.0 + 8.0, MARGIN);
        for (bx, by, w, h) in [
            (x, y, side, 1.2),
            (x, y + side - 1.2, side, 1.2),
            (x, y, 1.2, side),
            (x + side - 1.2, y, 1.2, side),
        ] {
            self.push(Item::Block { x: bx, y: by, w, h });
        }
        let big = 26.0;
        let width = self.faces.width(Style::Bold, big, &letter.to_string());
        self.push(Item::Text {
            x: x + side / 2.0 - width / 2.0,
            baseline: y + 30.0,
            style: Style::Bold,
            size: big,
            ink: Ink::Text,
            text: letter.to_string(),
        });
        let small = 7.0;
        let width = self.faces.width(Style::Regular, small, code);
        self.push(Item::Text {
            x: x + side / 2.0 - width / 2.0,
            baseline: y + 40.0,
            style: Style::Regular,
            size: small,
            ink: Ink::Text,
            text: code.to_owned(),
        });
    }

    /// A square matrix of dark modules (a QR code), `side` points wide, at the left; the
    /// text beside it in the lines that follow.
    pub(crate) fn matrix(&mut self, dark: &[bool], width: usize, side: f32, caption: &[&str]) {
        if width == 0 {
            return;
        }
        self.room(side + 8.0);
        let module = side / width as f32;
        let top = self.y;
        for (i, on) in dark.iter().enumerate() {
            if *on {
                let (col, row) = (i % width, i / width);
                self.push(Item::Block {
                    x: MARGIN + col as f32 * module,
                    y: top + row as f32 * module,
                    w: module + 0.05,
                    h: module + 0.05,
                });
            }
        }
        let x = MARGIN + side + 14.0;
        self.y = top + 4.0;
        let room = PAGE_W - MARGIN - x;
        for text in caption {
            for line in self.faces.wrap(Style::Regular, 9.0, room, &clean(text)) {
                self.text(x, Style::Regular, 9.0, Ink::Text, line);
                self.y += 12.0;
            }
        }
        self.y = top + side + 8.0;
    }

    /// `label` and `value` on one line, the value right-aligned (a total).
    pub(crate) fn amount(&mut self, label: &str, value: &str, bold: bool) {
        self.room(LINE);
        let style = if bold { Style::Bold } else { Style::Regular };
        let x = PAGE_W - MARGIN - 200.0;
        self.text(x, style, BODY, Ink::Text, clean(label));
        let width = self.faces.width(style, BODY, value);
        self.text(
            PAGE_W - MARGIN - width,
            style,
            BODY,
            Ink::Text,
            clean(value),
        );
        self.y += LINE;
    }

    pub(crate) fn rule(&mut self) {
        let y = self.y;
        self.push(Item::Rule { y });
        self.y += 12.0;
    }

    /// `label` in bold, `value` beside it, wrapped.
    pub(crate) fn field(&mut self, label: &str, value: &str) {
        let width = PAGE_W - 2.0 * MARGIN - LABEL_W;
        let lines = self.faces.wrap(Style::Regular, BODY, width, &clean(value));
        for (i, line) in lines.into_iter().enumerate() {
            self.room(LINE);
            if i == 0 {
                self.text(MARGIN, Style::Bold, BODY, Ink::Text, clean(label));
            }
            self.text(MARGIN + LABEL_W, Style::Regular, BODY, Ink::Text, line);
            self.y += LINE;
        }
    }

    /// A section's title, kept with at least two lines of what follows.
    pub(crate) fn heading(&mut self, title: &str) {
        self.y += 8.0;
        self.room(18.0 + 2.0 * LINE);
        self.text(MARGIN, Style::Bold, 12.0, Ink::Brand, clean(title));
        self.y += 18.0;
    }

    /// Wrapped text across the page.
    pub(crate) fn paragraph(&mut self, text: &str) {
        self.lines(MARGIN, Ink::Text, BODY, text);
    }

    /// A smaller, muted paragraph.
    pub(crate) fn note(&mut self, text: &str) {
        self.lines(MARGIN, Ink::Muted, 9.0, text);
    }

    /// A list item.
    pub(crate) fn bullet(&mut self, text: &str) {
        self.room(LINE);
        self.text(MARGIN + 6.0, Style::Regular, BODY, Ink::Text, "•".into());
        self.lines(MARGIN + 18.0, Ink::Text, BODY, text);
    }

    fn lines(&mut self, x: f32, ink: Ink, size: f32, text: &str) {
        let width = PAGE_W - MARGIN - x;
        for line in self.faces.wrap(Style::Regular, size, width, &clean(text)) {
            self.room(LINE);
            self.text(x, Style::Regular, size, ink, line);
            self.y += size + 4.0;
        }
    }

    pub(crate) fn gap(&mut self) {
        self.y += 6.0;
    }

    /// The PDF: every page drawn, each with `footer · Página i de n`.
    pub(crate) fn finish(self, title: &str, footer: &str) -> Result<Vec<u8>, DocumentError> {
        let regular = Font::new(REGULAR.into(), 0).ok_or_else(|| DocumentError("font".into()))?;
        let bold = Font::new(BOLD.into(), 0).ok_or_else(|| DocumentError("bold font".into()))?;
        let logo = Image::from_png(Arc::new(LOGO.to_vec()).into(), true).map_err(DocumentError)?;
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new()
                .title(title.to_owned())
                .language("es-AR".to_owned())
                .creator("AMAR Mascotas".to_owned()),
        );
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
            .ok_or_else(|| DocumentError("page size".into()))?;
        let count = self.pages.len();
        for (number, items) in self.pages.into_iter().enumerate() {
            let mut page = document.start_page_with(settings.clone());
            let mut surface = page.surface();
            let mut draw_text = |x: f32, baseline: f32, style, size, ink: Ink, text: &str| {
                surface.set_fill(Some(Fill {
                    paint: ink.color().into(),
                    ..Default::default()
                }));
                let font = match style {
                    Style::Regular => regular.clone(),
                    Style::Bold => bold.clone(),
                };
                let at = Point::from_xy(x, baseline);
                surface.draw_text(at, font, size, text, false, TextDirection::Auto);
            };
            for item in &items {
                if let Item::Text {
                    x,
                    baseline,
                    style,
                    size,
                    ink,
                    text,
                } = item
                {
                    draw_text(*x, *baseline, *style, *size, *ink, text);
                }
            }
            let page_no = format!("{footer} · Página {} de {count}", number + 1);
            draw_text(
                MARGIN,
                PAGE_H - MARGIN + 12.0,
                Style::Regular,
                8.0,
                Ink::Muted,
                &page_no,
            );
            for item in items {
                match item {
                    Item::Rule { y } => {
                        let mut path = PathBuilder::new();
                        if let Some(rect) = Rect::from_xywh(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.8) {
                            path.push_rect(rect);
                        }
                        if let Some(path) = path.finish() {
                            surface.set_fill(Some(Fill {
                                paint: rgb::Color::new(0xd1, 0xd5, 0xdb).into(),
                                ..Default::default()
                            }));
                            surface.draw_path(&path);
                        }
                    }
                    Item::Logo { x, y, side } => {
                        if let Some(size) = Size::from_wh(side, side) {
                            surface.push_transform(&Transform::from_translate(x, y));
                            surface.draw_image(logo.clone(), size);
                            surface.pop();
                        }
                    }
                    Item::Block { x, y, w, h } => {
                        let mut path = PathBuilder::new();
                        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
                            path.push_rect(rect);
                        }
                        if let Some(path) = path.finish() {
                            surface.set_fill(Some(Fill {
                                paint: Ink::Text.color().into(),
                                ..Default::default()
                            }));
                            surface.draw_path(&path);
                        }
                    }
                    Item::Text { .. } => {}
                }
            }
            surface.finish();
            page.finish();
        }
        document
            .finish()
            .map_err(|e| DocumentError(format!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_within_the_width() {
        let layout = Layout::new().expect("fonts");
        let text = "Se observa leve inflamación en la piel del abdomen, sin lesiones abiertas; \
                    se indica baño con champú medicado cada siete días.\nControl en dos semanas.";
        let lines = layout.faces.wrap(Style::Regular, BODY, 200.0, text);
        assert!(lines.len() > 3, "{lines:?}");
        for line in &lines {
            assert!(
                layout.faces.width(Style::Regular, BODY, line) <= 200.0,
                "{line}"
            );
        }
        assert_eq!(
            lines.last().map(String::as_str),
            Some("Control en dos semanas.")
        );
        let joined = lines.join(" ");
        assert_eq!(
            joined.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_word_longer_than_a_line_is_cut_not_lost() {
        let layout = Layout::new().expect("fonts");
        let word = "x".repeat(200);
        let lines = layout.faces.wrap(Style::Regular, BODY, 100.0, &word);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), word);
    }
}
