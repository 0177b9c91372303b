//! The report's charts, drawn with plotters' SVG backend: a metric's log2
//! histogram, its violations over time, a worst case's timeline and its
//! breakdown as a stacked bar. Each function returns one SVG document
//! (`<svg ...>...</svg>`); text is left to the browser's sans-serif font.

use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rt_protocol::{log2_bucket_bounds, Breakdown, MetricStats};

use super::timeline::{Mark, Ran, TaskState, Timeline};
use crate::fmt;

/// Width of every chart in px (the page is about that wide).
pub const WIDTH: u32 = 960;
const FONT: &str = "sans-serif";

/// Why a chart could not be drawn (plotters' error, as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawError(pub String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

pub const RUNNING: RGBColor = RGBColor(46, 160, 67);
pub const WAITING: RGBColor = RGBColor(240, 140, 0);
pub const PREEMPTED: RGBColor = RGBColor(250, 185, 70);
pub const SLEEP_TIMER: RGBColor = RGBColor(90, 150, 220);
pub const SLEEP_LOCK: RGBColor = RGBColor(150, 90, 200);
pub const SLEEP_IO: RGBColor = RGBColor(0, 150, 150);
pub const SLEEP_OTHER: RGBColor = RGBColor(120, 130, 150);
pub const NOT_KEPT: RGBColor = RGBColor(215, 215, 215);
pub const CULPRIT: RGBColor = RGBColor(215, 38, 61);
pub const OTHER_TASK: RGBColor = RGBColor(160, 160, 160);
pub const IDLE: RGBColor = RGBColor(238, 238, 238);
pub const BAR: RGBColor = RGBColor(70, 110, 180);
pub const BOUND: RGBColor = RGBColor(200, 0, 0);
pub const WAKEUP: RGBColor = RGBColor(20, 40, 140);
pub const IRQ: RGBColor = RGBColor(120, 0, 120);

pub fn state_color(s: TaskState) -> RGBColor {
    match s {
        TaskState::Waiting => WAITING,
        TaskState::Preempted => PREEMPTED,
        TaskState::Running => RUNNING,
        TaskState::SleepTimer => SLEEP_TIMER,
        TaskState::SleepLock => SLEEP_LOCK,
        TaskState::SleepIo => SLEEP_IO,
        TaskState::SleepOther => SLEEP_OTHER,
        TaskState::NotKept => NOT_KEPT,
    }
}

/// The parts of a breakdown, named and coloured as the timeline's states.
pub fn breakdown_parts(b: &Breakdown) -> [(&'static str, u64, RGBColor); 6] {
    [
        ("running", b.running_ns, RUNNING),
        ("waiting", b.waiting_ns, WAITING),
        ("sleeping on a timer", b.sleep_timer_ns, SLEEP_TIMER),
        ("blocked on a lock", b.sleep_lock_ns, SLEEP_LOCK),
        ("blocked on I/O", b.sleep_io_ns, SLEEP_IO),
        ("sleeping (other)", b.sleep_other_ns, SLEEP_OTHER),
    ]
}

fn text_style(size: u32, color: &RGBColor, h: HPos) -> TextStyle<'static> {
    (FONT, size).into_font().color(color).pos(Pos::new(h, VPos::Center))
}

/// Roughly how wide `s` is at 11 px in a sans-serif font.
fn text_px(s: &str) -> i32 {
    (s.chars().count() as f64 * 6.3).ceil() as i32
}

/// `s` cut to fit `px` (with an ellipsis), or `None` when not even a few
/// characters fit.
fn fit(s: &str, px: i32) -> Option<String> {
    if text_px(s) <= px {
        return Some(s.to_string());
    }
    let n = ((px as f64) / 6.3) as usize;
    (n >= 4).then(|| format!("{}…", s.chars().take(n - 1).collect::<String>()))
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}

/// Every chart's frame: its title, the margin and the room for the axis
/// labels (below: `x_label_px`, left: `y_label_px`), so that the charts of
/// a page look alike; the caller adds its own extras and builds the axes.
fn frame<'a, 'c>(
    area: &'a Area<'c>,
    title: &str,
    x_label_px: u32,
    y_label_px: u32,
) -> ChartBuilder<'a, 'static, SVGBackend<'c>> {
    let mut b = ChartBuilder::on(area);
    b.caption(title, (FONT, 15))
        .margin(10)
        .x_label_area_size(x_label_px)
        .y_label_area_size(y_label_px);
    b
}

/// Every chart's mesh: no light grid lines, the labels in the charts'
/// font; the caller adds its axes' labels and draws it.
fn mesh<'a, 'b, DB, XT, YT, X, Y>(chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = XT> + ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + ValueFormatter<YT>,
{
    let mut m = chart.configure_mesh();
    m.light_line_style(TRANSPARENT).label_style((FONT, 12));
    m
}

/// The axis of the lane charts (a worst case's timeline and breakdown):
/// time in us along x, no y labels or lines (the lanes label themselves).
fn draw_lane_axis(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: Option<&str>,
) -> Result<(), DrawError> {
    let xfmt = |x: &f64| format!("{x:.0} us");
    let mut m = mesh(chart);
    m.disable_y_mesh().y_labels(0).x_label_formatter(&xfmt);
    if let Some(d) = x_desc {
        m.x_desc(d);
    }
    m.draw()?;
    Ok(())
}

/// The pixel column of x on `chart` (an x axis from 0 to `end`), kept
/// apart from the chart so that drawing on it goes on.
fn pixel_x<Y: Ranged<ValueType = f64>>(
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    end: f64,
) -> impl Fn(f64) -> i32 {
    let y = chart.y_range().start;
    let p0 = chart.backend_coord(&(0.0, y)).0;
    let p1 = chart.backend_coord(&(end, y)).0;
    move |x: f64| p0 + ((x / end) * f64::from(p1 - p0)).round() as i32
}

/// A legend strip: coloured swatches with their labels, left to right,
/// wrapping onto a second row.
fn legend(area: &Area<'_>, items: &[(String, LegendMark)]) -> Result<(), DrawError> {
    let (w, _) = area.dim_in_pixel();
    let (mut x, mut y) = (12i32, 12i32);
    for (label, mark) in items {
        let need = 22 + text_px(label) + 16;
        if x + need > w as i32 && x > 12 {
            x = 12;
            y += 20;
        }
        match mark {
            LegendMark::Swatch(c) => {
                area.draw(&Rectangle::new([(x, y - 6), (x + 16, y + 6)], c.filled()))?;
                area.draw(&Rectangle::new([(x, y - 6), (x + 16, y + 6)], BLACK.mix(0.3)))?;
            }
            LegendMark::Line(c) => {
                area.draw(&PathElement::new(
                    vec![(x + 8, y - 7), (x + 8, y + 7)],
                    c.stroke_width(2),
                ))?;
            }
            LegendMark::Triangle(c) => {
                area.draw(&TriangleMarker::new((x + 8, y), 6, c.filled()))?;
            }
        }
        area.draw(&Text::new(
            label.clone(),
            (x + 22, y),
            text_style(12, &BLACK, HPos::Left),
        ))?;
        x += need;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum LegendMark {
    Swatch(RGBColor),
    Line(RGBColor),
    Triangle(RGBColor),
}

/// The x position (log2 ns) of a value on the histogram's axis: bucket i
/// spans [i-1, i), as it holds [2^(i-1), 2^i) ns.
fn log2x(ns: u64) -> f64 {
    (ns.max(1) as f64).log2()
}

/// A metric's log2 histogram: one bar per non-empty bucket over its
/// [lo, hi) (the x axis is log2 of the value), the count on a log scale;
/// the bound, P99≤ (the upper end of the 99th percentile's bucket, clamped
/// to the max) and the max as vertical lines.
pub fn histogram(title: &str, m: &MetricStats) -> Result<String, DrawError> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 330)).into_drawing_area();
        root.fill(&WHITE)?;
        let bars: Vec<(f64, f64, u64)> = m
            .log2
            .iter()
            .filter(|b| b.count > 0)
            .map(|b| {
                let (lo, hi) = log2_bucket_bounds(b.idx);
                let x1 = hi.map_or(f64::from(b.idx), log2x);
                (if lo == 0 { x1 - 1.0 } else { log2x(lo) }, x1, b.count)
            })
            .collect();
        let mut x0 = bars.first().map_or(0.0, |b| b.0);
        let mut x1 = bars.last().map_or(1.0, |b| b.1);
        if m.bound_ns > 0 {
            x0 = x0.min(log2x(m.bound_ns).floor());
            x1 = x1.max(log2x(m.bound_ns).ceil());
        }
        let (x0, x1) = (x0.floor() - 1.0, x1.ceil() + 1.0);
        // Headroom above the bars (the axis is logarithmic) for the legend.
        let top = bars.iter().map(|b| b.2).max().unwrap_or(1) as f64 * 40.0;
        let mut chart = frame(&root, title, 42, 62)
            .margin_right(30)
            .build_cartesian_2d(x0..x1, (0.5f64..top).log_scale())?;
        let xfmt = |x: &f64| {
            if (x - x.round()).abs() < 1e-9 && *x >= 0.0 && *x < 64.0 {
                fmt::dur(1u64 << (*x as u32))
            } else {
                String::new()
            }
        };
        let yfmt = |y: &f64| {
            if *y >= 1.0 {
                format!("{y:.0}")
            } else {
                String::new()
            }
        };
        mesh(&mut chart)
            .disable_x_mesh()
            .x_labels(((x1 - x0) as usize).min(24))
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .x_desc("value (log2 buckets: [2^(i-1), 2^i) ns)")
            .y_desc("samples (log scale)")
            .draw()?;
        chart
            .draw_series(
                bars.iter()
                    .map(|&(a, b, c)| Rectangle::new([(a, 0.5), (b, c as f64)], BAR.mix(0.85).filled())),
            )?
            .label(format!("samples per bucket ({} in all)", m.count))
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BAR.filled()));
        let vline = |ns: u64| vec![(log2x(ns), 0.5), (log2x(ns), top)];
        if m.bound_ns > 0 {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vline(m.bound_ns),
                    BOUND.stroke_width(2),
                )))?
                .label(format!("bound {}", fmt::dur(m.bound_ns)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BOUND.stroke_width(2)));
        }
        if let Some(p99) = m.quantile_ns(0.99) {
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vline(p99),
                    6,
                    4,
                    WAKEUP.stroke_width(2),
                )))?
                .label(format!("P99 ≤ {}", fmt::dur(p99)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], WAKEUP.stroke_width(2)));
        }
        if m.count > 0 {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vline(m.max_ns),
                    BLACK.stroke_width(1),
                )))?
                .label(format!("max {}", fmt::dur(m.max_ns)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(1)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 12))
            .draw()?;
        root.present()?;
    }
    Ok(buf)
}

/// A point of the violations-over-time chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViolationPoint {
    /// When the violating interval ended (agent CLOCK_MONOTONIC).
    pub t_ns: u64,
    /// The agent's cumulative count then.
    pub violations: u64,
    pub value_ns: u64,
}

/// At most about `n` points: the last of each of `n` equal time slices
/// (the count is cumulative, so a step chart through them is exact at
/// each kept point), always the first and the last.
pub fn thin(points: &[ViolationPoint], n: usize) -> Vec<ViolationPoint> {
    if points.len() <= n || n < 2 {
        return points.to_vec();
    }
    let (t0, t1) = (points[0].t_ns, points[points.len() - 1].t_ns);
    let span = (t1.saturating_sub(t0)).max(1) as f64;
    let slot = |p: &ViolationPoint| ((p.t_ns.saturating_sub(t0) as f64 / span) * (n - 1) as f64) as usize;
    let mut out: Vec<ViolationPoint> = vec![points[0]];
    for (i, p) in points.iter().enumerate().skip(1) {
        if points.get(i + 1).is_none_or(|q| slot(q) != slot(p)) {
            out.push(*p);
        }
    }
    out
}

/// The cumulative violation count over the agent's time, as a step line
/// through the violation frames (a jump larger than one: violations the
/// agent counted but could not send).
/// `word`: what is counted ("violations", a window's "overruns").
pub fn violations(title: &str, points: &[ViolationPoint], word: &str) -> Result<String, DrawError> {
    let pts = thin(points, 1500);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let s = |ns: u64| ns as f64 / 1e9;
        let t0 = pts.first().map_or(0.0, |p| s(p.t_ns));
        let t1 = pts.last().map_or(1.0, |p| s(p.t_ns));
        let pad = ((t1 - t0) * 0.03).max(0.05);
        let top = pts.iter().map(|p| p.violations).max().unwrap_or(1).max(1) as f64 * 1.1;
        let mut chart = frame(&root, title, 40, 62).build_cartesian_2d((t0 - pad)..(t1 + pad), 0f64..top)?;
        let xfmt = |x: &f64| format!("{x:.2} s");
        let yfmt = |y: &f64| {
            if (y - y.round()).abs() < 1e-9 {
                format!("{y:.0}")
            } else {
                String::new()
            }
        };
        mesh(&mut chart)
            .x_label_formatter(&xfmt)
            .y_label_formatter(&yfmt)
            .x_desc("agent time (CLOCK_MONOTONIC) at the end of the violating interval")
            .y_desc(format!("{word} so far"))
            .draw()?;
        let mut step: Vec<(f64, f64)> = Vec::with_capacity(pts.len() * 2);
        for (i, p) in pts.iter().enumerate() {
            if i > 0 {
                step.push((s(p.t_ns), pts[i - 1].violations as f64));
            }
            step.push((s(p.t_ns), p.violations as f64));
        }
        chart
            .draw_series(std::iter::once(PathElement::new(step, CULPRIT.stroke_width(2))))?
            .label(format!(
                "cumulative count ({} frames, {} {word})",
                points.len(),
                points.iter().map(|p| p.violations).max().unwrap_or(0)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], CULPRIT.stroke_width(2)));
        if pts.len() <= 300 {
            chart.draw_series(
                pts.iter()
                    .map(|p| Circle::new((s(p.t_ns), p.violations as f64), 2, CULPRIT.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 12))
            .draw()?;
        root.present()?;
    }
    Ok(buf)
}

/// A lane of the timeline chart.
enum Lane<'a> {
    Task(&'a str),
    Cpu(u16, &'a [Ran]),
}

const LANE_PX: u32 = 34;
const LABEL_AREA: u32 = 200;

/// The colour of a task that ran on a CPU.
fn ran_color(r: &Ran) -> RGBColor {
    if r.culprit {
        CULPRIT
    } else if r.tracked {
        RUNNING
    } else if r.idle() {
        IDLE
    } else {
        OTHER_TASK
    }
}

/// A worst case as lanes over its interval: on top the tracked task's
/// states (coloured by state, wakeups as triangles), below one lane per
/// CPU the events name with the tasks that ran there (culprits in red,
/// the tracked task green, other tasks grey, idle light), hard IRQs as
/// ticks; a legend of what appears.
pub fn timeline(title: &str, task: &str, tl: &Timeline) -> Result<String, DrawError> {
    let mut lanes = vec![Lane::Task(task)];
    for (cpu, ran) in &tl.cpus {
        lanes.push(Lane::Cpu(*cpu, ran));
    }
    let n = lanes.len();
    let legend_h = 56u32;
    let height = 40 + 42 + LANE_PX * n as u32 + legend_h;
    let len_us = us(tl.len_ns).max(0.001);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, bottom) = root.split_vertically(height - legend_h);
        let mut chart = frame(&top, title, 40, LABEL_AREA).build_cartesian_2d(0f64..len_us, 0f64..n as f64)?;
        draw_lane_axis(&mut chart, Some("time since the interval began"))?;
        // Lane i (from the top) spans y in [n-i-1, n-i).
        let band = |i: usize| ((n - i - 1) as f64 + 0.15, (n - i) as f64 - 0.15);
        let px = pixel_x(&chart, len_us);
        let mut swatches: Vec<(String, LegendMark)> = Vec::new();
        let mut note = |label: &str, m: LegendMark| {
            if !swatches.iter().any(|(l, _)| l == label) {
                swatches.push((label.to_string(), m));
            }
        };
        for (i, lane) in lanes.iter().enumerate() {
            let (y0, y1) = band(i);
            let yc = (y0 + y1) / 2.0;
            let name = match lane {
                Lane::Task(t) => t.to_string(),
                Lane::Cpu(c, _) => format!("CPU {c}"),
            };
            let (lx, ly) = chart.backend_coord(&(0.0, yc));
            root.draw(&Text::new(name, (lx - 8, ly), text_style(12, &BLACK, HPos::Right)))?;
            let mut bars: Vec<(u64, u64, RGBColor, String)> = Vec::new();
            match lane {
                Lane::Task(_) => {
                    for s in &tl.states {
                        note(s.state.label(), LegendMark::Swatch(state_color(s.state)));
                        bars.push((s.start_ns, s.end_ns, state_color(s.state), s.state.label().to_string()));
                    }
                }
                Lane::Cpu(_, ran) => {
                    if ran.is_empty() {
                        // Named by an event, but no switch there says who ran.
                        let t = "who ran here is not in the events".to_string();
                        chart.draw_series(std::iter::once(Text::new(
                            t,
                            (0.0, yc),
                            text_style(11, &OTHER_TASK, HPos::Left),
                        )))?;
                    }
                    for r in ran.iter() {
                        let label = if r.culprit {
                            "culprit (ran while the task waited)"
                        } else if r.tracked {
                            "the tracked task"
                        } else if r.idle() {
                            "idle"
                        } else {
                            "another task"
                        };
                        note(label, LegendMark::Swatch(ran_color(r)));
                        let text = if r.idle() {
                            "idle".to_string()
                        } else {
                            format!("{} {} ({})", r.comm, r.pid, fmt::sched(r.policy, r.prio))
                        };
                        bars.push((r.start_ns, r.end_ns, ran_color(r), text));
                    }
                }
            }
            for (s, e, c, text) in bars {
                let (a, b) = (us(s).min(len_us), us(e).min(len_us));
                chart.draw_series(std::iter::once(Rectangle::new([(a, y0), (b, y1)], c.filled())))?;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(a, y0), (b, y1)],
                    WHITE.stroke_width(1),
                )))?;
                if let Some(t) = fit(&text, px(b) - px(a) - 6) {
                    let fg = if c == CULPRIT || c == SLEEP_LOCK || c == SLEEP_IO || c == BAR {
                        WHITE
                    } else {
                        BLACK
                    };
                    chart.draw_series(std::iter::once(Text::new(t, (a, yc), text_style(11, &fg, HPos::Left))))?;
                }
            }
        }
        // Marks: wakeups and migrations on the task lane, IRQs on their CPU.
        let cpu_lane = |cpu: u16| lanes.iter().position(|l| matches!(l, Lane::Cpu(c, _) if *c == cpu));
        let mut last_irq_label: Option<i32> = None;
        for m in &tl.marks {
            let x = us(m.t_ns()).min(len_us);
            match m {
                Mark::Wakeup { .. } => {
                    let (y0, y1) = band(0);
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, y0), (x, y1)],
                        WAKEUP.stroke_width(2),
                    )))?;
                    chart.draw_series(std::iter::once(TriangleMarker::new((x, y1), 6, WAKEUP.filled())))?;
                    note("wakeup", LegendMark::Triangle(WAKEUP));
                }
                Mark::Migrate { to, .. } => {
                    let (y0, y1) = band(0);
                    chart.draw_series(std::iter::once(Cross::new(
                        (x, (y0 + y1) / 2.0),
                        5,
                        BLACK.stroke_width(2),
                    )))?;
                    let t = format!("→ CPU {to}");
                    // Near the right end the label goes to the left of the mark.
                    let h = if x > len_us * 0.8 { HPos::Right } else { HPos::Left };
                    chart.draw_series(std::iter::once(Text::new(t, (x, y1 + 0.12), text_style(10, &BLACK, h))))?;
                    note("migration (×)", LegendMark::Line(BLACK));
                }
                Mark::Irq { cpu, irq, .. } => {
                    let Some(i) = cpu_lane(*cpu) else { continue };
                    let (y0, y1) = band(i);
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(x, y0 - 0.1), (x, y1 + 0.1)],
                        IRQ.stroke_width(2),
                    )))?;
                    let p = px(x);
                    if last_irq_label.is_none_or(|l| p - l > 40) {
                        let t = format!("IRQ {irq}");
                        chart.draw_series(std::iter::once(Text::new(
                            t,
                            (x, y1 + 0.12),
                            text_style(10, &IRQ, HPos::Left),
                        )))?;
                        last_irq_label = Some(p);
                    }
                    note("hard IRQ", LegendMark::Line(IRQ));
                }
            }
        }
        legend(&bottom, &swatches)?;
        root.present()?;
    }
    Ok(buf)
}

/// A breakdown as one stacked bar over the interval (parts in the
/// timeline's colours, each labelled where it fits), the bound as a red
/// line, the parts with their lengths and shares as a legend.
pub fn breakdown(title: &str, b: &Breakdown, value_ns: u64, bound_ns: u64) -> Result<String, DrawError> {
    let parts = breakdown_parts(b);
    let total: u64 = parts.iter().map(|p| p.1).sum();
    let legend_h = 34u32;
    let height = 40 + 40 + 44 + legend_h;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (top, bottom) = root.split_vertically(height - legend_h);
        let end = us(value_ns.max(total).max(bound_ns)).max(0.001) * 1.04;
        let mut chart = frame(&top, title, 36, LABEL_AREA).build_cartesian_2d(0f64..end, 0f64..1f64)?;
        draw_lane_axis(&mut chart, None)?;
        let (lx, ly) = chart.backend_coord(&(0.0, 0.5));
        root.draw(&Text::new(
            format!("{} in all", fmt::dur(value_ns)),
            (lx - 8, ly),
            text_style(12, &BLACK, HPos::Right),
        ))?;
        let px = pixel_x(&chart, end);
        let mut acc = 0.0;
        let mut items = Vec::new();
        for (name, ns, c) in parts.iter().filter(|p| p.1 > 0) {
            let (a, z) = (acc, acc + us(*ns));
            acc = z;
            chart.draw_series(std::iter::once(Rectangle::new([(a, 0.2), (z, 0.8)], c.filled())))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(a, 0.2), (z, 0.8)],
                WHITE.stroke_width(1),
            )))?;
            let label = format!("{name} {}", fmt::dur(*ns));
            if let Some(t) = fit(&label, px(z) - px(a) - 6) {
                let fg = if *c == SLEEP_LOCK || *c == SLEEP_IO {
                    WHITE
                } else {
                    BLACK
                };
                chart.draw_series(std::iter::once(Text::new(t, (a, 0.5), text_style(11, &fg, HPos::Left))))?;
            }
            let share = if total > 0 {
                *ns as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            items.push((format!("{label} ({share:.0}%)"), LegendMark::Swatch(*c)));
        }
        if bound_ns > 0 {
            let x = us(bound_ns);
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x, 0.05), (x, 0.95)],
                BOUND.stroke_width(2),
            )))?;
            items.push((format!("bound {}", fmt::dur(bound_ns)), LegendMark::Line(BOUND)));
        }
        if items.is_empty() {
            items.push(("no breakdown".into(), LegendMark::Swatch(NOT_KEPT)));
        }
        legend(&bottom, &items)?;
        root.present()?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t_ns: u64, violations: u64) -> ViolationPoint {
        ViolationPoint {
            t_ns,
            violations,
            value_ns: 1,
        }
    }

    #[test]
    fn thinning_keeps_the_first_the_last_and_the_count_at_each_slice_end() {
        let pts: Vec<ViolationPoint> = (0..10_000).map(|i| p(i * 1_000, i + 1)).collect();
        let t = thin(&pts, 100);
        assert!(t.len() <= 101, "{}", t.len());
        assert_eq!(t.first(), pts.first());
        assert_eq!(t.last(), pts.last());
        assert!(t
            .windows(2)
            .all(|w| w[0].t_ns < w[1].t_ns && w[0].violations <= w[1].violations));
        let few = &pts[..50];
        assert_eq!(thin(few, 100), few);
    }

    #[test]
    fn charts_are_svg_documents() {
        let mut m = MetricStats {
            count: 3,
            min_ns: 1_500,
            max_ns: 9_000,
            sum_ns: 15_000,
            bound_ns: 5_000,
            ..Default::default()
        };
        m.log2.push(rt_protocol::Bucket { idx: 11, count: 2 }).unwrap();
        m.log2.push(rt_protocol::Bucket { idx: 14, count: 1 }).unwrap();
        for svg in [
            histogram("h", &m).unwrap(),
            violations("v", &[p(1, 1), p(5, 3)], "violations").unwrap(),
            breakdown("b", &Breakdown::default(), 0, 0).unwrap(),
            timeline("t", "x[1]", &Timeline::default()).unwrap(),
        ] {
            assert!(svg.starts_with("<svg "), "{svg}");
            assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        }
    }
}
