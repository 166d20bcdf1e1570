//! Inline SVG charts: a bar chart of counts and a line chart of 0–100 scores over periods. Each
//! chart is a `<figure>` with a caption, an accessible title, and its numbers printed in the
//! chart (bars) or in a table next to it (lines), so no reader depends on colour or on the SVG.

use super::Esc;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 40.0;

pub struct Bar {
    pub label: String,
    pub value: usize,
    /// Drawn in the "failing" colour.
    pub failing: bool,
}

fn open(out: &mut String, class: &str, title: &str) {
    w!(
        out,
        "<figure class=\"chart {class}\"><svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"{t}\"><title>{t}</title>\n",
        t = Esc(title)
    );
}

/// Horizontal grid lines with their value, from `0` to `max` in `steps` steps.
fn grid(out: &mut String, max: f64, steps: usize, y: impl Fn(f64) -> f64) {
    for k in 0..=steps {
        let v = max * k as f64 / steps as f64;
        let yy = y(v);
        w!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
             <text class=\"axis\" x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{v}</text>\n",
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = yy + 4.0,
            v = if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
        );
    }
}

/// Bars with their counts; `marker` draws a labelled vertical line at a position counted in bars
/// from the left (e.g. 7.0: between the 7th and the 8th bar).
pub fn bar_chart(out: &mut String, caption: &str, bars: &[Bar], marker: Option<(f64, &str)>) {
    open(out, "bars", caption);
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    // a round top for the axis: at most 5 grid steps of whole numbers
    let step = max.div_ceil(5).max(1);
    let top = (step * max.div_ceil(step)) as f64;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    grid(out, top, (top as usize) / step, y);
    let slot = (WIDTH - LEFT - RIGHT) / bars.len().max(1) as f64;
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.12;
        let (w, yy) = (slot * 0.76, y(b.value as f64));
        let class = if b.failing { "bar failing" } else { "bar" };
        w!(
            out,
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{w:.1}\" height=\"{h:.1}\">\
             <title>{label}: {v}</title></rect>\
             <text class=\"value\" x=\"{cx:.1}\" y=\"{vy:.1}\" text-anchor=\"middle\">{v}</text>\
             <text class=\"axis\" x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{label}</text>\n",
            h = (TOP + plot_h - yy).max(0.0),
            label = Esc(&b.label),
            v = b.value,
            cx = x + w / 2.0,
            vy = yy - 4.0,
            ly = HEIGHT - BOTTOM + 16.0,
        );
    }
    if let Some((at, label)) = marker {
        let x = LEFT + slot * at.clamp(0.0, bars.len() as f64);
        w!(
            out,
            "<line class=\"marker\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{y2:.1}\"/>\
             <text class=\"axis\" x=\"{tx:.1}\" y=\"{ty:.1}\">{}</text>\n",
            Esc(label),
            y2 = TOP + plot_h,
            tx = x + 4.0,
            ty = TOP + 10.0,
        );
    }
    w!(
        out,
        "<text class=\"axis\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">qa_score</text>\n",
        x = LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        y = HEIGHT - 6.0
    );
    w!(out, "</svg><figcaption>{}</figcaption></figure>\n", Esc(caption));
}

pub struct Series<'a> {
    pub name: &'a str,
    /// One value per x label; None leaves a hole.
    pub points: Vec<Option<f64>>,
}

/// Colour-blind-safe colours (Okabe–Ito) with a dash pattern each, so series differ without
/// colour as well.
const STYLES: [(&str, &str); 6] = [
    ("#000000", ""),
    ("#0072b2", "8 4"),
    ("#e69f00", "2 3"),
    ("#009e73", "10 3 2 3"),
    ("#cc79a7", "4 4"),
    ("#d55e00", "1 2"),
];

fn stroke(i: usize) -> String {
    let (color, dash) = STYLES[i % STYLES.len()];
    if dash.is_empty() {
        format!("stroke=\"{color}\"")
    } else {
        format!("stroke=\"{color}\" stroke-dasharray=\"{dash}\"")
    }
}

/// Lines of 0–100 values over `labels` (periods), with an HTML legend.
pub fn line_chart(out: &mut String, caption: &str, labels: &[String], series: &[Series]) {
    open(out, "lines", caption);
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h * (1.0 - v.clamp(0.0, 100.0) / 100.0);
    grid(out, 100.0, 4, y);
    // inset so that the first and last period labels fit
    const INSET: f64 = 70.0;
    let plot_w = WIDTH - LEFT - RIGHT - 2.0 * INSET;
    let x = |i: usize| {
        if labels.len() <= 1 {
            LEFT + INSET + plot_w / 2.0
        } else {
            LEFT + INSET + plot_w * i as f64 / (labels.len() - 1) as f64
        }
    };
    for (i, label) in labels.iter().enumerate() {
        w!(
            out,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            x(i),
            HEIGHT - BOTTOM + 16.0,
            Esc(label)
        );
    }
    for (k, s) in series.iter().enumerate() {
        let stroke = stroke(k);
        // polylines over runs of consecutive values
        let mut run: Vec<String> = Vec::new();
        let flush = |run: &mut Vec<String>, out: &mut String| {
            if run.len() > 1 {
                w!(out, "<polyline class=\"line\" {stroke} points=\"{}\"/>\n", run.join(" "));
            }
            run.clear();
        };
        for (i, p) in s.points.iter().enumerate() {
            match p {
                Some(v) => run.push(format!("{:.1},{:.1}", x(i), y(*v))),
                None => flush(&mut run, out),
            }
        }
        flush(&mut run, out);
        let color = STYLES[k % STYLES.len()].0;
        for (i, p) in s.points.iter().enumerate() {
            if let Some(v) = p {
                w!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\">\
                     <title>{}, {}: {v:.1}</title></circle>\n",
                    x(i),
                    y(*v),
                    Esc(s.name),
                    Esc(&labels[i])
                );
            }
        }
    }
    w!(out, "</svg><figcaption>{}</figcaption>\n<ul class=\"legend\">", Esc(caption));
    for (k, s) in series.iter().enumerate() {
        w!(
            out,
            "<li><svg viewBox=\"0 0 28 10\" width=\"28\" height=\"10\" aria-hidden=\"true\">\
             <line x1=\"1\" y1=\"5\" x2=\"27\" y2=\"5\" stroke-width=\"2.5\" {}/></svg>{}</li>",
            stroke(k),
            Esc(s.name)
        );
    }
    w!(out, "</ul></figure>\n");
}
