//! Time to full: when a filling series (a filesystem's used percent) will
//! reach 100 %, from a straight-line fit over its recent history, and
//! nothing at all unless the fit earns trust.
//!
//! A forecast that cries wolf is worse than none, so the fit must pass
//! every guard before it says anything:
//!
//! - **Resets.** A fall of more than [`Guard::reset_pct`] points (a cleanup,
//!   a log rotation) starts a new segment; only the segment since the last
//!   one is fitted. A saw-tooth that was emptied before is expected to be
//!   emptied again: it forecasts only a fill faster than the time the
//!   current tooth has already been growing.
//! - **Enough of it.** The segment spans at least [`Guard::min_span`] with
//!   at least [`Guard::min_points`] points.
//! - **A real trend.** The slope is positive, the fit explains most of the
//!   movement (R² at least [`Guard::min_r2`]), and the rise over the
//!   segment is at least three times the scatter around the line and at
//!   least [`Guard::min_rise_pct`] points, so noise and flat lines say
//!   nothing.
//! - **Soon enough to matter.** A fill further than [`Guard::horizon`] away
//!   is no forecast.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::config::FORECAST_METRIC;
use super::Alerts;
use crate::signals::clock::now_ms;
use crate::signals::SampleBus;

/// When a forecast may speak.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Guard {
    pub(crate) min_span: Duration,
    pub(crate) min_points: usize,
    pub(crate) min_r2: f64,
    pub(crate) min_rise_pct: f64,
    pub(crate) reset_pct: f64,
    pub(crate) horizon: Duration,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            min_span: Duration::from_secs(2 * 3600),
            min_points: 20,
            min_r2: 0.8,
            min_rise_pct: 1.0,
            reset_pct: 5.0,
            horizon: Duration::from_secs(90 * 86_400),
        }
    }
}

/// A series that will be full.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Forecast {
    /// Unix ms when it reaches 100 %.
    pub(crate) full_at: i64,
    /// How fast it fills, in percentage points per hour.
    pub(crate) per_hour: f64,
    /// How well the line fits (R²).
    pub(crate) r2: f64,
    /// Unix ms of the first point fitted.
    pub(crate) since: i64,
}

impl Forecast {
    /// Hours from `now` until full.
    pub(crate) fn hours_left(&self, now: i64) -> f64 {
        (self.full_at - now).max(0) as f64 / 3_600_000.0
    }
}

const HOUR_MS: f64 = 3_600_000.0;

/// How much history a forecast fits: two days, longer than the daily
/// cycles (log rotation, nightly cleanups) that would otherwise look like
/// a steady fill.
pub(crate) const WINDOW: Duration = Duration::from_secs(48 * 3600);

/// The forecast for `points` (Unix ms, percent used, oldest first), as of
/// `now`, or `None` when the guards say nothing can be told.
pub(crate) fn forecast(points: &[(i64, f64)], now: i64, guard: &Guard) -> Option<Forecast> {
    let points: Vec<(i64, f64)> = points.iter().copied().filter(|(_, v)| v.is_finite()).collect();
    // Segments start after each reset.
    let resets: Vec<usize> = (1..points.len())
        .filter(|&i| points[i].1 < points[i - 1].1 - guard.reset_pct)
        .collect();
    let start = resets.last().copied().unwrap_or(0);
    let segment = &points[start..];
    let (first, last) = (segment.first()?, segment.last()?);
    let span = last.0 - first.0;
    if segment.len() < guard.min_points || span < guard.min_span.as_millis() as i64 {
        return None;
    }
    // Least squares of value on hours since the segment's start.
    let n = segment.len() as f64;
    let xs: Vec<f64> = segment.iter().map(|(t, _)| (t - first.0) as f64 / HOUR_MS).collect();
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = segment.iter().map(|(_, v)| v).sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, (_, y)) in xs.iter().zip(segment) {
        sxy += (x - mean_x) * (y - mean_y);
        sxx += (x - mean_x).powi(2);
        syy += (y - mean_y).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    if slope <= 0.0 {
        return None;
    }
    let r2 = sxy * sxy / (sxx * syy);
    let residual_sd = ((syy - slope * sxy).max(0.0) / n).sqrt();
    let rise = slope * xs.last().copied().unwrap_or_default();
    if r2 < guard.min_r2 || rise < guard.min_rise_pct || rise < 3.0 * residual_sd {
        return None;
    }
    let intercept = mean_y - slope * mean_x;
    let now_x = (now - first.0) as f64 / HOUR_MS;
    let level = (intercept + slope * now_x).min(100.0);
    let hours = (100.0 - level) / slope;
    if hours * HOUR_MS > guard.horizon.as_millis() as f64 {
        return None;
    }
    // A saw-tooth: emptied before, likely emptied again before a slow fill.
    if !resets.is_empty() && hours * HOUR_MS > (now - first.0) as f64 {
        return None;
    }
    Some(Forecast {
        full_at: now + (hours * HOUR_MS) as i64,
        per_hour: slope,
        r2,
        since: first.0,
    })
}

/// Where forecasts read history: a series' points between two times
/// (Unix ms; the value of each, oldest first). Blocking.
pub(crate) trait Past: Send + Sync + 'static {
    fn points(&self, series: &str, from: i64, to: i64) -> Vec<(i64, f64)>;
}

/// How often the forecasts are fitted again: a fill that matters takes
/// hours, and each fit reads two days of history per filesystem.
const EVERY: Duration = Duration::from_secs(60);

/// Fits every filesystem's forecast at once and then each [`EVERY`], from
/// `past`, and hands them to alerting: the forecast rules and the live
/// `alerts` frames (the overview's "full in" line).
pub(crate) async fn run(alerts: Alerts, past: Arc<dyn Past>, samples: Arc<SampleBus>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let Some(sample) = samples.latest() else {
            continue;
        };
        let mut series = Vec::new();
        crate::catalog::for_each(&sample, |metric, labels, _| {
            if metric.name == FORECAST_METRIC {
                series.push(metric.series_name(labels));
            }
        });
        let past = past.clone();
        let fitted = tokio::task::spawn_blocking(move || {
            let now = now_ms();
            let from = now - WINDOW.as_millis() as i64;
            series
                .into_iter()
                .map(|name| {
                    let fit = forecast(&past.points(&name, from, now), now, &Guard::default());
                    (name, fit)
                })
                .collect::<Vec<_>>()
        })
        .await;
        match fitted {
            Ok(fitted) => alerts.set_forecasts(fitted),
            Err(e) => tracing::warn!(error = %e, "the forecast task failed"),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const H: i64 = 60 * MIN;

    /// A small deterministic noise source (no rand dependency): xorshift.
    pub(crate) struct Noise(u64);

    impl Noise {
        pub(crate) fn new(seed: u64) -> Noise {
            Noise(seed.max(1))
        }

        /// Uniform in [-1, 1].
        pub(crate) fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % 2_000_001) as f64 / 1_000_000.0 - 1.0
        }
    }

    /// One point a minute for `hours`, ending at `now`.
    fn series(hours: i64, now: i64, mut f: impl FnMut(i64) -> f64) -> Vec<(i64, f64)> {
        (0..hours * 60)
            .map(|i| {
                let t = now - hours * H + i * MIN;
                (t, f(t))
            })
            .collect()
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_steady_fill_is_forecast_within_ten_percent() {
        // 40 % to 52 % over six hours: 2 points an hour, 24 h left.
        let points = series(6, NOW, |t| 52.0 - 2.0 * (NOW - t) as f64 / H as f64);
        let f = forecast(&points, NOW, &Guard::default()).expect("a forecast");
        let hours = f.hours_left(NOW);
        assert!((hours - 24.0).abs() < 2.4, "{hours}");
        assert!((f.per_hour - 2.0).abs() < 0.05, "{}", f.per_hour);
        assert!(f.r2 > 0.99);
        assert_eq!(app::alerts::roughly(hours), "~24 h");
    }

    #[test]
    fn a_noisy_steady_fill_is_still_within_ten_percent() {
        let mut noise = Noise::new(7);
        let points = series(6, NOW, |t| {
            52.0 - 2.0 * (NOW - t) as f64 / H as f64 + noise.next() * 0.5
        });
        let f = forecast(&points, NOW, &Guard::default()).expect("a forecast");
        assert!((f.hours_left(NOW) - 24.0).abs() < 2.4, "{}", f.hours_left(NOW));
    }

    #[test]
    fn flat_usage_says_nothing() {
        let points = series(6, NOW, |_| 63.0);
        assert_eq!(forecast(&points, NOW, &Guard::default()), None);
        // Creeping up a hair: full in years, beyond the horizon.
        let points = series(6, NOW, |t| 63.0 + (t - NOW + 6 * H) as f64 / H as f64 * 0.01);
        assert_eq!(forecast(&points, NOW, &Guard::default()), None);
    }

    #[test]
    fn noise_without_a_trend_says_nothing() {
        // Near full, so the small slope noise happens to have would put
        // "full" within the horizon, and under the reset step (a 5-point
        // fall), so the whole span is fitted: only the fit's quality keeps
        // it quiet.
        for seed in 1..50 {
            let mut noise = Noise::new(seed);
            let points = series(6, NOW, |_| 96.0 + noise.next() * 2.0);
            assert_eq!(forecast(&points, NOW, &Guard::default()), None, "seed {seed}");
        }
    }

    #[test]
    fn a_saw_tooth_that_is_emptied_says_nothing() {
        // Fills 10 points in 2 hours, then a cleanup back to 40 %, again
        // and again; now 1.5 hours into a tooth.
        let tooth = |t: i64, length: i64, into: i64, per_hour: f64, base: f64| {
            base + ((t - NOW + into).rem_euclid(length)) as f64 / H as f64 * per_hour
        };
        let points = series(12, NOW, |t| tooth(t, 2 * H, 90 * MIN, 5.0, 40.0));
        assert_eq!(forecast(&points, NOW, &Guard::default()), None);
        // Long teeth: a point an hour for a day, then a rotation; 20 hours
        // into this one, at 50 %. The line alone would say "full in 50 h";
        // the rotations before say it will be emptied first.
        let points = series(48, NOW, |t| tooth(t, 24 * H, 20 * H, 1.0, 30.0));
        assert!((points.last().unwrap().1 - 50.0).abs() < 0.1);
        assert_eq!(forecast(&points, NOW, &Guard::default()), None);
        // The same tooth with the rotations out of sight does forecast:
        // the window must be longer than the teeth (see WINDOW).
        assert!(forecast(&points[points.len() - 600..], NOW, &Guard::default()).is_some());
    }

    #[test]
    fn after_a_cleanup_a_fast_fill_still_warns() {
        // Emptied from 90 % to 40 % six hours ago, since then 6 points an
        // hour: at 76 % now, 4 h left, sooner than the tooth has grown.
        let points = series(12, NOW, |t| {
            let age = (NOW - t) as f64 / H as f64;
            if age > 6.0 {
                90.0
            } else {
                40.0 + 6.0 * (6.0 - age)
            }
        });
        let f = forecast(&points, NOW, &Guard::default()).expect("a forecast");
        assert!((f.hours_left(NOW) - 4.0).abs() < 0.4, "{}", f.hours_left(NOW));
    }

    #[test]
    fn too_little_history_says_nothing() {
        let points = series(1, NOW, |t| 50.0 + (t - NOW + H) as f64 / H as f64 * 10.0);
        assert_eq!(forecast(&points, NOW, &Guard::default()), None);
        assert_eq!(forecast(&[], NOW, &Guard::default()), None);
    }
}
