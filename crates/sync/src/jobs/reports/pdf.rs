//! The report as a PDF attachment: the title (account and period), the figures table with
//! the same values and `n/a` reasons as the HTML mail, and the follower chart PNG as an
//! image. Written with `pdf-writer` in the PDF's built-in Helvetica (no font file is
//! embedded), so text is WinAnsi: a character the built-in font cannot show (emoji, most
//! scripts other than Latin) is replaced by `?`. The output holds no date or random id, so
//! the same report gives the same bytes.

use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::chart;
use super::render::{RenderedReport, change, shown};

/// A4 in points.
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 50.0;
/// Column starts: figure, this period, previous, change.
const COLUMNS: [f32; 4] = [MARGIN, 300.0, 400.0, 490.0];
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const IMAGE: Name<'static> = Name(b"Im1");

/// `text` in WinAnsiEncoding, the built-in fonts' encoding: Latin-1 and the typographic
/// marks of 0x80–0x9F; anything else becomes `?`.
pub(crate) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => c as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            '\t' | '\n' | '\r' => b' ',
            _ => b'?',
        })
        .collect()
}

/// Splits `text` into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
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

/// The pages' content streams, top to bottom, starting a new page when one is full.
struct Pages {
    done: Vec<Content>,
    current: Content,
    y: f32,
    /// Which pages show the chart image.
    with_image: Vec<bool>,
}

impl Pages {
    fn new() -> Self {
        Pages {
            done: Vec::new(),
            current: Content::new(),
            y: PAGE_H - MARGIN,
            with_image: vec![false],
        }
    }

    /// Makes room for `height` points, on a new page when this one has less.
    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            let full = std::mem::replace(&mut self.current, Content::new());
            self.done.push(full);
            self.with_image.push(false);
            self.y = PAGE_H - MARGIN;
        }
    }

    fn text(&mut self, x: f32, font: Name<'_>, size: f32, gray: f32, text: &str) {
        let c = &mut self.current;
        c.begin_text();
        c.set_fill_gray(gray);
        c.set_font(font, size);
        c.next_line(x, self.y);
        c.show(Str(&win_ansi(text)));
        c.end_text();
    }

    /// Lines of wrapped text, each on its own line.
    fn paragraph(&mut self, font: Name<'_>, size: f32, gray: f32, text: &str, width: usize) {
        for line in wrap(text, width) {
            self.room(size * 1.4);
            self.y -= size * 1.4;
            self.text(MARGIN, font, size, gray, &line);
        }
    }

    fn finish(mut self) -> (Vec<Content>, Vec<bool>) {
        self.done.push(self.current);
        (self.done, self.with_image)
    }
}

/// The chart PNG as RGB samples over white, zlib-compressed for `FlateDecode`, with its size.
fn chart_samples(png: &[u8]) -> Option<(Vec<u8>, u32, u32)> {
    let pixmap = tiny_skia::Pixmap::decode_png(png).ok()?;
    let mut rgb = Vec::with_capacity(pixmap.pixels().len() * 3);
    for p in pixmap.pixels() {
        // Premultiplied colour over a white page: c + (255 - alpha).
        let under = 255 - p.alpha();
        rgb.extend([p.red() + under, p.green() + under, p.blue() + under]);
    }
    Some((
        compress_to_vec_zlib(&rgb, 6),
        pixmap.width(),
        pixmap.height(),
    ))
}

/// The PDF of `report`.
pub(crate) fn render_pdf(report: &RenderedReport) -> Vec<u8> {
    let mut pages = Pages::new();
    pages.y -= 18.0;
    for (i, line) in wrap(&report.subject, 56).iter().enumerate() {
        if i > 0 {
            pages.y -= 18.0;
        }
        pages.text(MARGIN, BOLD, 14.0, 0.0, line);
    }
    pages.y -= 28.0;
    let heads = ["Figure", "This period", "Previous", "Change"];
    for (x, head) in COLUMNS.iter().zip(heads) {
        pages.text(*x, BOLD, 10.0, 0.25, head);
    }
    for r in &report.figures {
        let label: String = r.label.chars().take(48).collect();
        pages.room(30.0);
        pages.y -= 16.0;
        pages.text(COLUMNS[0], REGULAR, 10.0, 0.0, &label);
        pages.text(COLUMNS[1], REGULAR, 10.0, 0.0, &shown(r.current, r.unit));
        pages.text(COLUMNS[2], REGULAR, 10.0, 0.0, &shown(r.previous, r.unit));
        pages.text(COLUMNS[3], REGULAR, 10.0, 0.0, &change(r.change_pct));
        if let Some(note) = &r.note {
            pages.paragraph(REGULAR, 8.0, 0.42, note, 110);
        }
    }

    if let Some(p) = &report.peers {
        pages.room(60.0);
        pages.y -= 30.0;
        pages.text(MARGIN, BOLD, 12.0, 0.0, &p.title());
        pages.y -= 20.0;
        let heads = ["Figure", "This account", "Rank", "Competitors' median"];
        for (x, head) in COLUMNS.iter().zip(heads) {
            pages.text(*x, BOLD, 10.0, 0.25, head);
        }
        for r in &p.rows {
            let label: String = r.label.chars().take(48).collect();
            pages.room(30.0);
            pages.y -= 16.0;
            pages.text(COLUMNS[0], REGULAR, 10.0, 0.0, &label);
            pages.text(COLUMNS[1], REGULAR, 10.0, 0.0, &shown(r.ours, r.unit));
            pages.text(COLUMNS[2], REGULAR, 10.0, 0.0, &r.rank_text());
            pages.text(
                COLUMNS[3],
                REGULAR,
                10.0,
                0.0,
                &shown(r.peer_median, r.unit),
            );
            if let Some(note) = &r.note {
                pages.paragraph(REGULAR, 8.0, 0.42, note, 110);
            }
        }
    }

    let image = report.chart.as_ref().and_then(|c| chart_samples(&c.png));
    let image_w = PAGE_W - 2.0 * MARGIN;
    let image_h = image_w * chart::HEIGHT as f32 / chart::WIDTH as f32;
    pages.room(30.0 + image_h);
    pages.y -= 30.0;
    pages.text(MARGIN, BOLD, 12.0, 0.0, "Followers per day");
    match (&report.chart, &image) {
        (Some(c), Some(_)) => {
            pages.y -= 6.0 + image_h;
            let y = pages.y;
            let content = &mut pages.current;
            content.save_state();
            content.transform([image_w, 0.0, 0.0, image_h, MARGIN, y]);
            content.x_object(IMAGE);
            content.restore_state();
            if let Some(last) = pages.with_image.last_mut() {
                *last = true;
            }
            pages.paragraph(REGULAR, 8.0, 0.42, &c.alt, 110);
        }
        _ => pages.paragraph(
            REGULAR,
            9.0,
            0.42,
            "No follower chart for this period: too few samples to draw.",
            100,
        ),
    }
    if let Some(link) = &report.link {
        pages.y -= 6.0;
        pages.paragraph(
            REGULAR,
            9.0,
            0.0,
            &format!("Charts and details: {link}"),
            100,
        );
    }
    pages.y -= 8.0;
    pages.paragraph(
        REGULAR,
        8.0,
        0.42,
        "Figures are what Meta reported; n/a marks a value Meta did not give, with the reason.",
        110,
    );

    let (contents, with_image) = pages.finish();
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let info = Ref::new(3);
    let regular = Ref::new(4);
    let bold = Ref::new(5);
    let image_id = Ref::new(6);
    let first_page = 7;
    let page_ids: Vec<Ref> = (0..contents.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    pdf.document_info(info)
        .title(TextStr(&report.subject))
        .producer(TextStr("igsync"));
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    if let Some((samples, w, h)) = &image {
        let mut xobject = pdf.image_xobject(image_id, samples);
        xobject.filter(Filter::FlateDecode);
        xobject.width(*w as i32);
        xobject.height(*h as i32);
        xobject.color_space().device_rgb();
        xobject.bits_per_component(8);
        xobject.finish();
    }
    for ((page_id, content), image_here) in page_ids.iter().zip(contents).zip(with_image) {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
        if image_here {
            resources.x_objects().pair(IMAGE, image_id);
        }
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use analytics::Unit;
    use chrono::NaiveDate;

    use super::*;
    use crate::jobs::reports::render::{FigureRow, ReportChart};

    fn report(chart: Option<ReportChart>) -> RenderedReport {
        let row = |key: &str, label: &str, current: Option<f64>, note: Option<&str>| FigureRow {
            key: key.into(),
            label: label.into(),
            unit: Unit::Count,
            current,
            previous: Some(1000.0),
            change_pct: current.map(|c| (c - 1000.0) / 10.0),
            note: note.map(Into::into),
        };
        RenderedReport {
            subject: "Weekly report for @caf\u{e9}_\u{1f600}: 2026-03-02 to 2026-03-08".into(),
            html: String::new(),
            text: String::new(),
            csv: String::new(),
            file_name: "igsync-report-cafe-2026-03-02-2026-03-08.csv".into(),
            figures: vec![
                row("followers", "Followers", Some(1234567.0), None),
                row(
                    "reach",
                    "Reach \u{1f680}",
                    None,
                    Some("Meta gives no reach for days before the account's first sync"),
                ),
            ],
            period_start: "2026-03-02".into(),
            period_end: "2026-03-08".into(),
            link: None,
            chart,
            peers: None,
        }
    }

    fn chart() -> ReportChart {
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        let drawn = chart::draw(&chart::ChartInput {
            first: d(2),
            last: d(8),
            series: (2..=8).map(|day| (d(day), 1000.0 + day as f64)).collect(),
            band: Vec::new(),
        })
        .unwrap();
        ReportChart {
            content_id: "followers@igsync".into(),
            png: drawn.png,
            alt: "Followers per day from 2026-03-02 to 2026-03-08".into(),
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn title_figures_reasons_and_the_chart_image() {
        let pdf = render_pdf(&report(Some(chart())));
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
        // The title in WinAnsi (é is one byte, the emoji a `?`), written as a hex string
        // since it is not ASCII.
        let title = hex::encode_upper(b"Weekly report for @caf\xe9_?: 2026-03-02 to 2026-03-08");
        assert!(contains(&pdf, format!("<{title}> Tj").as_bytes()));
        assert!(contains(&pdf, b"(1,234,567) Tj"));
        assert!(contains(&pdf, b"(Reach ?) Tj"));
        assert!(contains(&pdf, b"(n/a) Tj"));
        assert!(contains(
            &pdf,
            b"(Meta gives no reach for days before the account's first sync) Tj"
        ));
        assert!(contains(&pdf, b"/BaseFont /Helvetica"));
        assert!(!contains(&pdf, b"/FontFile"));
        assert!(contains(&pdf, b"/Subtype /Image"));
        assert!(contains(
            &pdf,
            format!("/Width {}", chart::WIDTH * chart::SCALE).as_bytes()
        ));
        assert!(contains(&pdf, b"/Im1 Do"));
        // No date or random id: the same report gives the same bytes.
        assert_eq!(pdf, render_pdf(&report(Some(chart()))));
    }

    #[test]
    fn without_a_chart_there_is_no_image_and_many_rows_take_more_pages() {
        let mut r = report(None);
        let row = r.figures[0].clone();
        r.figures = vec![row; 80];
        let pdf = render_pdf(&r);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(!contains(&pdf, b"/Subtype /Image"));
        assert!(contains(&pdf, b"(No follower chart for this period"));
        // 80 rows do not fit on one A4 page: the table goes on over a second one.
        let count = |needle: &[u8]| pdf.windows(needle.len()).filter(|w| *w == needle).count();
        let pages = count(b"/Type /Page") - count(b"/Type /Pages");
        assert!(pages >= 2, "{pages} page(s)");
        assert!(contains(&pdf, format!("/Count {pages}").as_bytes()));
    }

    #[test]
    fn text_outside_win_ansi_becomes_a_question_mark() {
        assert_eq!(win_ansi("Ünïcode – ok"), b"\xdcn\xefcode \x96 ok");
        assert_eq!(win_ansi("\u{1f600}\u{4e2d}\u{200d}"), b"???");
        assert_eq!(
            wrap("one two three four", 9),
            vec!["one two", "three", "four"]
        );
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }
}
