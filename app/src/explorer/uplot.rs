//! The chart in the browser: bindings to uPlot's global class (loaded from
//! `/vendor/uPlot.iife.min.js`) and [`Chart`], which owns one plot and the
//! Rust closures it calls. Data goes over as one `Float64Array` per
//! column, never as one JS object per point, so 100,000 points cost a few
//! copies of typed arrays rather than 100,000 allocations.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Float64Array, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;

use super::chart::{self, Spec, Theme};
use super::data::{Cell as Value, Column, Columns};
use super::units;
use crate::metrics::Unit;

#[wasm_bindgen]
extern "C" {
    /// uPlot's chart, `window.uPlot`.
    #[wasm_bindgen(js_name = uPlot)]
    pub type UPlot;

    #[wasm_bindgen(constructor, js_class = "uPlot", catch)]
    fn new(opts: &JsValue, data: &JsValue, target: &web_sys::HtmlElement) -> Result<UPlot, JsValue>;

    /// Replaces the data; `reset_scales` re-ranges the axes.
    #[wasm_bindgen(method, js_name = setData)]
    fn set_data(this: &UPlot, data: &JsValue, reset_scales: bool);

    #[wasm_bindgen(method, js_name = setSize)]
    fn set_size(this: &UPlot, size: &JsValue);

    #[wasm_bindgen(method, js_name = setSelect)]
    fn set_select(this: &UPlot, select: &JsValue, fire_hook: bool);

    /// The value at a position along a scale (CSS pixels from the plot's edge).
    #[wasm_bindgen(method, js_name = posToVal)]
    fn pos_to_val(this: &UPlot, pos: f64, scale: &str) -> f64;

    /// The series' options as uPlot keeps them (time first); it reads
    /// their `width` whenever it draws.
    #[wasm_bindgen(method, getter)]
    fn series(this: &UPlot) -> Array;

    /// The selected region, `{left, top, width, height}` in CSS pixels.
    #[wasm_bindgen(method, getter)]
    fn select(this: &UPlot) -> JsValue;

    #[wasm_bindgen(method)]
    fn destroy(this: &UPlot);
}

/// Whether the uPlot script has run.
pub fn loaded() -> bool {
    Reflect::has(&js_sys::global(), &JsValue::from_str("uPlot")).unwrap_or(false)
}

/// One uPlot chart and what it calls back into. Dropping it destroys the
/// plot (its canvas, listeners and DOM) before freeing the closures.
pub struct Chart {
    plot: UPlot,
    spec: Spec,
    /// The window the x axis shows, in seconds; read by the x range closure.
    window: Rc<Cell<(f64, f64)>>,
    /// Whether the lines are drawn as hairlines ([`chart::stroke_width`]).
    dense: Cell<bool>,
    _closures: Vec<Closure<dyn Fn(JsValue, JsValue) -> JsValue>>,
    _hooks: Vec<Closure<dyn Fn(UPlot)>>,
}

impl Drop for Chart {
    fn drop(&mut self) {
        self.plot.destroy();
    }
}

/// The chart's colors, from the CSS variables of `el` (`--muted`,
/// `--line`, `--series-0` ...).
fn theme(el: &web_sys::HtmlElement) -> Theme {
    let mut theme = Theme::default();
    let Some(style) = web_sys::window().and_then(|w| w.get_computed_style(el).ok().flatten()) else {
        return theme;
    };
    let var = |name: &str| {
        style
            .get_property_value(name)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = var("--muted") {
        theme.text = v;
    }
    if let Some(v) = var("--line") {
        theme.grid = v;
    }
    let series: Vec<String> = (0..8).map_while(|i| var(&format!("--series-{i}"))).collect();
    if !series.is_empty() {
        theme.series = series;
    }
    theme
}

impl Chart {
    /// Builds a chart for `spec` inside `target`, as wide as `target`.
    /// `on_zoom(from_ms, to_ms)` is called when a window is dragged out.
    pub fn new(target: &web_sys::HtmlElement, spec: Spec, on_zoom: Rc<dyn Fn(i64, i64)>) -> Result<Chart, JsValue> {
        let width = target.client_width().max(200) as u32;
        let height = chart::height_for(width);
        let text = chart::options(&spec, width, height, &theme(target));
        let opts = JSON::parse(&text)?;

        let mut closures = Vec::new();
        let window = Rc::new(Cell::new((0.0, 1.0)));

        // The x axis always shows the window asked for, not just the data's extent.
        let x_range = {
            let window = window.clone();
            Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(move |_u, _min| {
                let (a, b) = window.get();
                Array::of2(&a.into(), &b.into()).into()
            })
        };
        let x_scale = Reflect::get(&Reflect::get(&opts, &"scales".into())?, &"x".into())?;
        Reflect::set(&x_scale, &"range".into(), x_range.as_ref())?;
        closures.push(x_range);

        // Axis labels by unit.
        let axes: Array = Reflect::get(&opts, &"axes".into())?.into();
        for (i, unit) in spec.units().into_iter().enumerate() {
            let values = Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(move |_u, splits: JsValue| {
                let ticks: Vec<f64> = Array::from(&splits)
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .collect();
                units::axis_labels(unit, &ticks)
                    .into_iter()
                    .map(JsValue::from)
                    .collect::<Array>()
                    .into()
            });
            Reflect::set(&axes.get(i as u32 + 1), &"values".into(), values.as_ref())?;
            closures.push(values);
        }

        // Legend (and cursor readout) values by unit.
        let series: Array = Reflect::get(&opts, &"series".into())?.into();
        for (line, index) in spec.lines.iter().zip(spec.series_index()) {
            let unit: Unit = line.unit;
            let value = Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(move |_u, raw: JsValue| {
                JsValue::from(raw.as_f64().map_or_else(|| "–".to_string(), |v| units::value(unit, v)))
            });
            Reflect::set(&series.get(index), &"value".into(), value.as_ref())?;
            closures.push(value);
        }

        // A drag selects a window: hand it over, then clear the selection.
        let on_select = Closure::<dyn Fn(UPlot)>::new(move |u: UPlot| {
            let sel = u.select();
            let num = |k: &str| {
                Reflect::get(&sel, &k.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0)
            };
            let (left, width) = (num("left"), num("width"));
            if width < 2.0 {
                return;
            }
            let from = u.pos_to_val(left, "x");
            let to = u.pos_to_val(left + width, "x");
            if let Ok(clear) = JSON::parse(r#"{"left":0,"top":0,"width":0,"height":0}"#) {
                u.set_select(&clear, false);
            }
            if from.is_finite() && to.is_finite() {
                on_zoom((from * 1000.0).round() as i64, (to * 1000.0).round() as i64);
            }
        });
        let hooks = Object::new();
        Reflect::set(&hooks, &"setSelect".into(), &Array::of1(on_select.as_ref()))?;
        Reflect::set(&opts, &"hooks".into(), &hooks)?;

        let empty: Array = (0..spec.columns())
            .map(|_| JsValue::from(Float64Array::new_with_length(0)))
            .collect();
        let plot = UPlot::new(&opts, &empty, target)?;
        Ok(Chart {
            plot,
            spec,
            window,
            dense: Cell::new(false),
            _closures: closures,
            _hooks: vec![on_select],
        })
    }

    /// What this chart was built for.
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Draws `columns` over the window `from..to` (Unix ms).
    pub fn draw(&self, columns: &Columns, from: i64, to: i64) {
        self.window.set((from as f64 / 1000.0, to as f64 / 1000.0));
        if columns.dense != self.dense.replace(columns.dense) {
            let dpr = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
            let series = self.plot.series();
            for i in 1..series.length() {
                let width = chart::stroke_width(&self.spec, i, columns.dense, dpr);
                let _ = Reflect::set(&series.get(i), &"width".into(), &width.into());
            }
        }
        let data = Array::new_with_length(columns.ys.len() as u32 + 1);
        data.set(0, Float64Array::new_from_slice(&columns.xs).into());
        for (i, column) in columns.ys.iter().enumerate() {
            let values: JsValue = match column {
                Column::Dense(v) => Float64Array::new_from_slice(v).into(),
                // null breaks the line, undefined is skipped over.
                Column::Sparse(cells) => cells
                    .iter()
                    .map(|c| match c {
                        Value::Value(v) => JsValue::from_f64(*v),
                        Value::Gap => JsValue::NULL,
                        Value::Absent => JsValue::UNDEFINED,
                    })
                    .collect::<Array>()
                    .into(),
            };
            data.set(i as u32 + 1, values);
        }
        self.plot.set_data(&data, true);
    }

    /// Fits the chart to a new container width.
    pub fn resize(&self, width: u32) {
        let size = Object::new();
        let _ = Reflect::set(&size, &"width".into(), &width.into());
        let _ = Reflect::set(&size, &"height".into(), &chart::height_for(width).into());
        self.plot.set_size(&size);
    }
}
