// Answers of `GET /api/v1/columns` (the explorer's range query) built by
// hand, for specs that serve the browser made-up data through page.route.
// The layout is postcard's encoding of `RangeColumns`
// (app/src/metrics/range.rs, whose test `columns_wire_format_is_pinned`
// fails if it changes): fields in order, strings and byte strings as a
// varint length then their bytes, integers as zigzag varints, the unit as
// its index in `Unit`; then the columns, each one byte string: the times
// as zigzag varint differences (the first from 0), the values as
// little-endian f64s.

/** `Unit`'s variants in declaration order. */
const UNITS = ['percent', 'bytes', 'bytes_per_second', 'per_second', 'seconds', 'number'];

export interface ColumnsAnswer {
  series: string;
  unit: string;
  from: number;
  to: number;
  stepMs: number;
  tier: string;
  t: number[];
  avg: number[];
  /** Both empty (or left out) when every point is a single sample. */
  min?: number[];
  max?: number[];
}

class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private at = 0;

  private room(n: number) {
    if (this.at + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    bigger.set(this.buf);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer);
  }

  /** An unsigned varint (numbers up to 2^53 are exact in JS). */
  varint(n: number) {
    this.room(10);
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }

  /** A signed integer, zigzag-encoded. */
  int(n: number) {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  string(s: string) {
    const bytes = new TextEncoder().encode(s);
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** A byte string of little-endian f64s. */
  floats(values: number[]) {
    this.varint(values.length * 8);
    this.room(values.length * 8);
    for (const v of values) {
      this.view.setFloat64(this.at, v, true);
      this.at += 8;
    }
  }

  /** A byte string of zigzag varint differences. */
  times(values: number[]) {
    const diffs = new Writer();
    let prev = 0;
    for (const t of values) {
      diffs.int(t - prev);
      prev = t;
    }
    const bytes = diffs.bytes();
    this.varint(bytes.length);
    this.room(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }
}

/** The body of a columns answer. */
export function encodeColumns(a: ColumnsAnswer): Buffer {
  const unit = UNITS.indexOf(a.unit);
  if (unit < 0) throw new Error(`unknown unit ${a.unit}`);
  const w = new Writer();
  w.string(a.series);
  w.varint(unit);
  w.int(a.from);
  w.int(a.to);
  w.int(a.stepMs);
  w.string(a.tier);
  w.times(a.t);
  w.floats(a.avg);
  w.floats(a.min ?? []);
  w.floats(a.max ?? []);
  return w.bytes();
}

/** Serves `body` as the columns answer it is. */
export const COLUMNS_TYPE = 'application/x-postcard';
