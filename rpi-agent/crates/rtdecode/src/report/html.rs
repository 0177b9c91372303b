//! The report page (maud): findings, then per task and metric its
//! statistics and charts, then per worst case its cause, timeline,
//! breakdown and events. Every number shown is also in a `data-*`
//! attribute in ns, as `--json` gives it, for tests and scripts.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use rt_protocol::{MetricStats, Worst};

use super::charts::{self, DrawError};
use super::timeline::Timeline;
use super::{findings_of, Chart, Rendered, Report, ReportError, Series, Summary};
use crate::findings::{self, Finding, Verdict};
use crate::{fmt, json};

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 0 auto; max-width: 1000px; padding: 1em 1.5em 4em; color: #222; background: #fff; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.6em; }
h4 { font-size: 1em; margin: 1em 0 0.3em; }
.meta { color: #555; font-size: 0.9em; }
.warn { background: #fff4e0; border-left: 4px solid #f08c00; padding: 0.5em 0.8em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { text-align: left; padding: 0.25em 0.6em; border-bottom: 1px solid #e4e4e4; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.violated .verdict { color: #fff; background: #d7263d; font-weight: bold; }
tr.met .verdict { color: #1b6e2d; font-weight: bold; }
tr.no_bound .verdict, tr.no_samples .verdict { color: #777; }
.cause { max-width: 38em; }
figure { margin: 0.6em 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85em; color: #555; }
.worst { border-left: 3px solid #d7263d; padding-left: 0.8em; margin: 1em 0 1.5em; }
.worst p { margin: 0.3em 0; }
details > summary { cursor: pointer; color: #345; }
.stats td, .stats th { border-bottom: none; }
.nosamples { color: #777; }
"#;

/// Worst cases drawn per task and metric (the largest); smaller ones past
/// these are listed without charts, so that a long run's page stays small.
pub const MAX_DRAWN: usize = 12;

/// An SVG document with an id, an accessible name and a title (tooltip).
fn identify(svg: &str, id: &str, title: &str) -> String {
    let t = html! { (title) }.into_string();
    let svg = svg.trim_start();
    let Some(rest) = svg.strip_prefix("<svg ") else {
        return svg.to_string();
    };
    match rest.find('>') {
        Some(end) => format!(
            "<svg id=\"{id}\" role=\"img\" aria-label=\"{t}\" {}><title>{t}</title>{}",
            &rest[..end],
            &rest[end + 1..]
        ),
        None => svg.to_string(),
    }
}

/// Draws charts and keeps them (for `--svg DIR`).
struct Charts(Vec<Chart>);

impl Charts {
    fn add(&mut self, id: String, title: String, svg: Result<String, DrawError>) -> Result<Markup, ReportError> {
        let svg = svg.map_err(|e| ReportError::Chart {
            chart: id.clone(),
            reason: e.0,
        })?;
        let svg = identify(&svg, &id, &title);
        let m = PreEscaped(svg.clone());
        self.0.push(Chart { id, title, svg });
        Ok(m)
    }
}

fn opt_dur(ns: Option<u64>) -> String {
    ns.map(fmt::dur).unwrap_or_else(|| "–".into())
}

/// "54×", "1.3×" (as the text view).
fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.1}×")
    }
}

fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Violated => "VIOLATED",
        Verdict::Met => "met",
        Verdict::NoBound => "no bound",
        Verdict::NoSamples => "no data",
    }
}

fn secs(ns: u64) -> String {
    format!("{:.6} s", ns as f64 / 1e9)
}

/// A worst case, ready to show.
struct WorstView {
    n: usize,
    id: String,
    timeline_id: String,
    breakdown_id: String,
    timeline: Markup,
    breakdown: Markup,
}

/// A task and metric, its charts drawn.
struct SeriesView<'a> {
    s: Series<'a>,
    hist: Option<Markup>,
    violations: Option<Markup>,
    worst: Vec<WorstView>,
}

fn draw<'a>(s: Series<'a>, charts: &mut Charts) -> Result<SeriesView<'a>, ReportError> {
    let label = s.label();
    let hist = match s.stats {
        Some(m) if m.count > 0 => Some(charts.add(
            s.hist_id(),
            format!("{label}: histogram ({} samples)", m.count),
            charts::histogram(&format!("{label}: {} samples, log2 buckets", m.count), m),
        )?),
        _ => None,
    };
    let violations = if s.violations.is_empty() {
        None
    } else {
        let title = format!("{label}: {} over time", s.violations_word());
        Some(charts.add(
            s.violations_id(),
            title.clone(),
            charts::violations(&title, s.violations, s.violations_word()),
        )?)
    };
    let mut worst = Vec::new();
    let who = format!("{}[{}]", s.task.comm, s.task.pid);
    for &(n, w) in s.worst.iter().take(MAX_DRAWN) {
        let tl = Timeline::of(w);
        let title = format!(
            "{label}: worst case #{n}, {} ({} CPU{})",
            fmt::dur(w.value_ns),
            tl.cpus.len(),
            if tl.cpus.len() == 1 { "" } else { "s" }
        );
        let timeline = charts.add(s.timeline_id(n), title.clone(), charts::timeline(&title, &who, &tl))?;
        let btitle = format!("{label}: worst case #{n}, breakdown of {}", fmt::dur(w.value_ns));
        let breakdown = charts.add(
            s.breakdown_id(n),
            btitle.clone(),
            charts::breakdown(&btitle, &w.breakdown, w.value_ns, w.bound_ns),
        )?;
        worst.push(WorstView {
            n,
            id: s.worst_id(n),
            timeline_id: s.timeline_id(n),
            breakdown_id: s.breakdown_id(n),
            timeline,
            breakdown,
        });
    }
    Ok(SeriesView {
        s,
        hist,
        violations,
        worst,
    })
}

fn finding_row(f: &Finding, anchor: Option<&str>) -> Markup {
    let id = anchor.map(|a| format!("finding-{a}"));
    let how_often = if f.count > 0 {
        format!("{}/{}", f.violations, f.count)
    } else {
        f.violations.to_string()
    };
    let over = match (f.excess_ns(), f.worst_to_bound()) {
        (Some(e), Some(r)) => format!("+{} ({})", fmt::dur(e), ratio(r)),
        _ => String::new(),
    };
    html! {
        tr.(f.verdict.key()) id=[id] data-pid=(f.key.pid) data-start-ns=(f.key.start_ns)
            data-metric=(fmt::metric_name(f.metric)) data-window-tag=[f.window_tag] data-verdict=(f.verdict.key()) data-count=(f.count)
            data-violations=(f.violations) data-bound-ns=(f.bound_ns) data-worst-ns=[f.worst_ns]
            data-excess-ns=[f.excess_ns()] data-cause=[f.cause.as_ref().map(|c| c.kind.key())] {
            td.verdict { (verdict_label(f.verdict)) }
            td { @if let Some(a) = anchor { a href={ "#" (a) } { (f.task.comm) "[" (f.task.pid) "]" } }
                 @else { (f.task.comm) "[" (f.task.pid) "]" } }
            td { (f.metric_label()) }
            td.num { (how_often) }
            td.num { (opt_dur(f.worst_ns)) }
            td.num { @if f.bound_ns > 0 { (fmt::dur(f.bound_ns)) } @else { "–" } }
            td.num { (over) }
            td.cause {
                @match f.sentence() {
                    Some(c) => (c),
                    None if f.bound_ns > 0 => { "no samples (bound " (fmt::dur(f.bound_ns)) ")" },
                    None => "no samples",
                }
            }
        }
    }
}

fn stats_table(s: &Series<'_>) -> Markup {
    let bound = s
        .stats
        .map(|m| m.bound_ns)
        .filter(|b| *b > 0)
        .or(s.finding.map(|f| f.bound_ns))
        .unwrap_or(0);
    let m: Option<&MetricStats> = s.stats.filter(|m| m.count > 0);
    let p99 = m.and_then(|m| m.quantile_range_ns(0.99));
    html! {
        table.stats data-pid=(s.key.pid) data-start-ns=(s.key.start_ns) data-metric=(fmt::metric_name(s.metric)) data-window-tag=[s.tag]
            data-count=(m.map_or(0, |m| m.count)) data-min-ns=[m.map(|m| m.min_ns)] data-mean-ns=[m.and_then(|m| m.mean_ns())]
            data-p99-lo-ns=[p99.map(|p| p.0)] data-p99-hi-ns=[p99.map(|p| p.1)] data-max-ns=[m.map(|m| m.max_ns)]
            data-bound-ns=(bound) data-violations=(s.stats.map_or(0, |m| m.violations)) {
            tr { th.num { "samples" } th.num { "min" } th.num { "mean" } th.num { "P99≤" } th.num { "max" }
                 th.num { "bound" } th.num { (s.violations_word()) } }
            tr {
                td.num { (m.map_or(0, |m| m.count)) }
                td.num { (opt_dur(m.map(|m| m.min_ns))) }
                td.num { (opt_dur(m.and_then(|m| m.mean_ns()))) }
                td.num title="the 99th percentile lies in this log2 bucket (clamped to min and max); it is at most its upper end" {
                    (opt_dur(p99.map(|p| p.1)))
                    @if let Some((lo, hi)) = p99 { br; small { "bucket " (fmt::dur(lo)) " – " (fmt::dur(hi)) } }
                }
                td.num { (opt_dur(m.map(|m| m.max_ns))) }
                td.num { @if bound > 0 { (fmt::dur(bound)) } @else { "–" } }
                td.num { (s.stats.map_or(0, |m| m.violations)) }
            }
        }
    }
}

fn worst_block(s: &Series<'_>, w: &Worst, v: &WorstView, of: usize) -> Markup {
    let cause = findings::classify(&w.task, w.metric, &w.breakdown, w.value_ns, Some(w));
    let over = (w.bound_ns > 0 && w.value_ns > w.bound_ns).then(|| {
        format!(
            " (+{} over {})",
            fmt::dur(w.value_ns - w.bound_ns),
            fmt::dur(w.bound_ns)
        )
    });
    html! {
        article.worst id=(v.id) data-pid=(s.key.pid) data-start-ns=(s.key.start_ns)
            data-metric=(fmt::metric_name(w.metric)) data-window-tag=[s.tag] data-value-ns=(w.value_ns) data-t-ns=(w.t_ns)
            data-bound-ns=(w.bound_ns) data-events=(w.events.len()) data-cause=(cause.kind.key())
            data-timeline=(v.timeline_id) data-breakdown=(v.breakdown_id) {
            h4 { "Worst case #" (v.n) " of " (of) ": " (s.metric_label()) " " (fmt::dur(w.value_ns))
                 (over.unwrap_or_default()) ", ended at " (secs(w.t_ns)) }
            p.cause { strong { "Cause: " } (cause.sentence()) }
            p { strong { "Breakdown: " } (fmt::breakdown(&w.breakdown)) }
            @if !w.culprits.is_empty() {
                p { strong { "Ran instead on its CPU: " }
                    @for (i, c) in w.culprits.iter().enumerate() {
                        @if i > 0 { ", " }
                        (c.comm) " (pid " (c.pid) ", " (fmt::sched(c.policy, c.prio)) ") " (fmt::dur(c.ns))
                    }
                }
            }
            figure.timeline { (v.timeline) figcaption { "Timeline: the task's states on top (triangles: its wakeups), \
                below each CPU the events name with the tasks that ran there (red: culprits), hard IRQs as ticks." } }
            figure.breakdown { (v.breakdown) }
            @if w.events.is_empty() {
                p.nosamples { "No events in this record (the task is not tracked with trace = true)." }
            } @else {
                details {
                    summary { (w.events.len()) " events"
                        @if w.events_dropped > 0 { " (" (w.events_dropped) " more not kept)" } }
                    table {
                        tr { th.num { "t" } th { "CPU" } th { "event" } }
                        @for (i, e) in w.events.iter().enumerate() {
                            tr { td.num { (fmt::dur(e.t_ns)) } td { (e.cpu) } td { (fmt::event_text(e, w.event_flags_of(i))) } }
                        }
                    }
                }
            }
        }
    }
}

fn series_block(v: &SeriesView<'_>) -> Markup {
    let s = &v.s;
    let records: Vec<&Worst> = s.worst.iter().map(|(_, w)| *w).collect();
    let of = records.len();
    html! {
        section.series id=(s.id) data-pid=(s.key.pid) data-start-ns=(s.key.start_ns) data-metric=(fmt::metric_name(s.metric))
            data-window-tag=[s.tag] {
            h3 { (s.label()) @if let Some(f) = s.finding { " — " (verdict_label(f.verdict)) } }
            @if let Some(c) = s.finding.and_then(Finding::sentence) { p.cause { (c) } }
            (stats_table(s))
            @if let Some(h) = &v.hist {
                figure.hist data-samples=(s.stats.map_or(0, |m| m.log2.iter().map(|b| b.count).sum::<u64>())) {
                    (h) figcaption { "Log2 histogram: bucket i holds [2^(i-1), 2^i) ns; the count axis is logarithmic." }
                }
            } @else {
                p.nosamples { "No samples." }
            }
            @if let Some(c) = &v.violations {
                figure.violations data-frames=(s.violations.len()) data-violations=(s.violations.iter().map(|p| p.violations).max().unwrap_or(0)) {
                    (c) figcaption { "Each violation frame at the time its interval ended, with the agent's cumulative count \
                        (steps of more than one: counted but not sent)." }
                }
            }
            @for (i, (w, wv)) in records.iter().zip(&v.worst).enumerate() {
                @if i == 0 {
                    (worst_block(s, w, wv, of))
                } @else if i == 1 {
                    details.earlier open[false] {
                        summary { (of - 1) " earlier, smaller worst case" @if of > 2 { "s" } " (the agent sends one per new worst)" }
                        @for (w2, wv2) in records.iter().zip(&v.worst).skip(1) { (worst_block(s, w2, wv2, of)) }
                        @if of > v.worst.len() {
                            p { (of - v.worst.len()) " smaller ones, not drawn (at most " (MAX_DRAWN) " per task and metric):" }
                            table.undrawn {
                                tr { th.num { "#" } th.num { "value" } th.num { "ended at" } th { "cause" } }
                                @for (n, w3) in s.worst.iter().skip(v.worst.len()) {
                                    tr.undrawn data-pid=(s.key.pid) data-start-ns=(s.key.start_ns)
                                        data-metric=(fmt::metric_name(w3.metric)) data-window-tag=[s.tag]
                                        data-value-ns=(w3.value_ns) data-t-ns=(w3.t_ns) {
                                        td.num { (n) } td.num { (fmt::dur(w3.value_ns)) } td.num { (secs(w3.t_ns)) }
                                        td { (findings::classify(&w3.task, w3.metric, &w3.breakdown, w3.value_ns, Some(w3)).sentence()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn render(r: &Report) -> Result<Rendered, ReportError> {
    let found = findings_of(&r.state);
    let mut charts = Charts(Vec::new());
    let mut views = Vec::new();
    for s in r.series(&found) {
        views.push(draw(s, &mut charts)?);
    }
    let anchor = |f: &Finding| {
        views
            .iter()
            .find(|v| v.s.key == f.key && v.s.metric == f.metric && v.s.tag == f.window_tag)
            .map(|v| v.s.id.clone())
    };
    let n = |v: Verdict| found.iter().filter(|f| f.verdict == v).count();
    let rx = &r.state.rx;
    let damaged = rx.crc_errors + rx.framing_errors + rx.decode_errors;
    let summary = Summary {
        findings: found.len(),
        violated: n(Verdict::Violated),
        histograms: views.iter().filter(|v| v.hist.is_some()).count(),
        violation_charts: views.iter().filter(|v| v.violations.is_some()).count(),
        worst_cases: views.iter().map(|v| v.worst.len()).sum(),
        worst_undrawn: views.iter().map(|v| v.s.worst.len() - v.worst.len()).sum(),
    };
    // Tasks, each with its series: those with a violated finding first
    // (then met, ...), in task order within each.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, v) in views.iter().enumerate() {
        match groups.last_mut() {
            Some((start, end)) if views[*start].s.key == v.s.key => *end = i + 1,
            _ => groups.push((i, i + 1)),
        }
    }
    let rank = |(a, b): &(usize, usize)| {
        views[*a..*b]
            .iter()
            .map(|v| v.s.finding.map_or(Verdict::NoSamples, |f| f.verdict))
            .min()
            .unwrap_or(Verdict::NoSamples)
    };
    groups.sort_by_key(|g| (rank(g), g.0));
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ "rtdecode " (env!("CARGO_PKG_VERSION")) };
                title { "rt-tracer report: " (r.source) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { "rt-tracer report" }
                    p.meta {
                        "Source " code { (r.source) } ", decoded by rtdecode " (env!("CARGO_PKG_VERSION"))
                        " at " (json::rfc3339(r.generated).0) "."
                        @if let Some(h) = &r.state.hello {
                            br; "Agent " (h.agent_version) " on " (h.board) ", kernel " (h.kernel_release)
                            ", protocol " (h.proto_major) "." (h.proto_minor) "."
                        }
                        br; (rx.frames) " frames, " (rx.bytes) " bytes read; " (r.worst.len()) " worst-case records, "
                        (r.violations.values().map(Vec::len).sum::<usize>()) " violation frames"
                        @if !r.window_worst.is_empty() { ", " (r.window_worst.len()) " budget window overrun records" }
                        "."
                    }
                    @if damaged > 0 || rx.lost_frames > 0 || rx.resyncs > 0 {
                        p.warn id="damage" data-crc-errors=(rx.crc_errors) data-framing-errors=(rx.framing_errors)
                            data-lost=(rx.lost_frames) {
                            "The input was damaged: " (rx.crc_errors) " CRC errors, " (rx.framing_errors) " framing errors, "
                            (rx.decode_errors) " undecodable frames, " (rx.resyncs) " resyncs (" (rx.discarded_bytes)
                            " bytes skipped), " (rx.lost_frames) " frames lost by sequence number. "
                            "Everything around the damage is in this report."
                        }
                    }
                    @if let Some((major, minor)) = r.state.incompatible {
                        p.warn { (json::incompatible_text(major, minor)) }
                    }
                }
                section #findings {
                    h2 { "Findings: " (n(Verdict::Violated)) " violated, " (n(Verdict::Met)) " met, "
                        (n(Verdict::NoBound)) " without a bound, " (n(Verdict::NoSamples)) " without samples" }
                    @if found.is_empty() {
                        p.nosamples { "No task reported a metric." }
                    } @else {
                        table {
                            tr { th { "verdict" } th { "task" } th { "metric" } th.num { "violations" }
                                 th.num { "worst" } th.num { "bound" } th.num { "excess" } th { "cause of the worst case" } }
                            @for f in &found { (finding_row(f, anchor(f).as_deref())) }
                        }
                    }
                }
                section #tasks {
                    h2 { "Per task and metric" }
                    p.meta { "Tasks with a violated finding first. Per metric: its statistics, its log2 histogram, \
                        its violations over time and its worst cases (the largest first; the agent sends a record \
                        per new worst)." }
                    @for (a, b) in &groups {
                        @let v0 = &views[*a].s;
                        @let exited = r.state.tasks.get(&v0.key).is_some_and(|e| e.kind == crate::state::SnapshotKind::Exit);
                        section.task data-pid=(v0.key.pid) data-start-ns=(v0.key.start_ns) {
                            h2 { (fmt::who(&v0.task)) @if exited { " — exited" } }
                            @for v in &views[*a..*b] { (series_block(v)) }
                        }
                    }
                }
                footer.meta {
                    p { "Times are the agent's CLOCK_MONOTONIC. P99≤ is the upper end of the log2 bucket holding the \
                        99th percentile, clamped to the max (the bucket is shown below it): the 99th percentile is at most that. \
                        Causes: see rtdecode's README, Findings." }
                }
            }
        }
    };
    Ok(Rendered {
        html: page.into_string(),
        charts: charts.0,
        summary,
    })
}
