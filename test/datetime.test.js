'use strict';
// src/convert/datetime.rs: dates and times both ways — the standard library's types, and
// pandas' and numpy's (in a venv the suite makes with pip, test/helpers.js venvPython).
const test = require('node:test');
const assert = require('node:assert');
const { runNode, lastJson, venvPython, ROOT } = require('./helpers');

/** Each Python expression's JS value, described: a Date's ISO string, null, or what stays wrapped. */
const DESCRIBE = `
  const { Python } = require(${JSON.stringify(ROOT)});
  const py = new Python();
  const describe = (v) => v instanceof Date ? (isNaN(v) ? 'Invalid Date' : v.toISOString())
    : v === null ? null : typeof v === 'function' && py.typeOf(v) ? 'wrapped ' + py.typeOf(v) : v;
  const out = (exprs) => Object.fromEntries(Object.entries(exprs).map(([k, e]) => {
    try { return [k, describe(py.eval(e))]; } catch (err) { return [k, 'THROWS ' + err.message]; }
  }));
`;

test('standard library: a datetime subclass converts as a datetime; date, time and timedelta stay wrapped', () => {
  const r = runNode(`${DESCRIBE}
    py.exec('import datetime as dt\\nclass D(dt.datetime):\\n    def astimezone(self, tz):\\n        raise TypeError("not this one")');
    console.log(JSON.stringify(out({
      sub: 'D(2024, 1, 3, 12, tzinfo=dt.timezone.utc)',
      naiveMs: 'int(dt.datetime(2024, 1, 3, 12).timestamp() * 1000)',
      subNaiveDate: 'D(2024, 1, 3, 12)',
      date: 'dt.date(2024, 1, 3)', time: 'dt.time(1, 2, 3)', delta: 'dt.timedelta(days=1)',
    })));`, { env: { TZ: 'America/New_York' } });
  const o = lastJson(r);
  assert.strictEqual(o.sub, '2024-01-03T12:00:00.000Z');
  // A naive subclass is read as local time, as the stdlib reads a naive datetime.
  assert.strictEqual(Date.parse(o.subNaiveDate), o.naiveMs);
  assert.strictEqual(o.subNaiveDate, '2024-01-03T17:00:00.000Z');
  assert.deepStrictEqual([o.date, o.time, o.delta], ['wrapped datetime.date', 'wrapped datetime.time', 'wrapped datetime.timedelta']);
});

const pandasPython = venvPython('cookbook', ['numpy', 'pandas', 'scikit-learn', 'pillow', 'pydantic']);
const noPandas = !pandasPython && 'pandas could not be installed into a venv here (pip reached no registry)';

test('pandas and numpy time values: Timestamps and datetime64 are Dates, NaT and NA are null, durations stay wrapped; nothing throws', { skip: noPandas }, () => {
  const r = runNode(`${DESCRIBE}
    py.exec('import pandas as pd, numpy as np');
    const o = out({
      naive: "pd.Timestamp('2024-01-03')",
      naiveNs: "pd.Timestamp('2024-01-03 04:05:06.789123456')",
      aware: "pd.Timestamp('2024-01-03 12:00', tz='Europe/Paris')",
      nat: 'pd.NaT', na: 'pd.NA',
      dt64ns: "np.datetime64('2024-01-03T00:00:00.123456789')",
      dt64day: "np.datetime64('2024-01-03')",
      dt64before: "np.datetime64('1969-12-31T23:59:59.999500')",
      dt64nat: "np.datetime64('NaT')",
      dt64far: "np.datetime64('300000-01-01')",
      td64: "np.timedelta64(5, 's')", td64ns: "np.timedelta64(5, 'ns')",
      timedelta: "pd.Timedelta('1 day')",
      array: "np.array(['2024-01-03', 'NaT'], dtype='datetime64[ns]')",
    });
    const frame = "pd.DataFrame({'d': pd.to_datetime(['2024-01-03', None]), 'x': [1.5, None], 'n': pd.array([1, None], dtype='Int64')})";
    o.records = py.eval(frame + ".to_dict('records')");
    o.describe = py.eval("pd.DataFrame({'d': pd.to_datetime(['2024-01-03', '2024-02-01'])}).describe().to_dict()").d;
    o.iloc = py.getitem(py.eval(frame).d.iloc, 0);
    o.tolist = py.eval("np.array(['2024-01-03'], dtype='datetime64[ms]').tolist()");
    console.log(JSON.stringify(o));`, { env: { PYTHON_TS_PYTHON: pandasPython, TZ: 'America/New_York' }, timeout: 600000 });
  const o = lastJson(r);
  // pandas reads a naive Timestamp as UTC (Timestamp.timestamp()); so does python-ts.
  assert.strictEqual(o.naive, '2024-01-03T00:00:00.000Z');
  assert.strictEqual(o.naiveNs, '2024-01-03T04:05:06.789Z');
  assert.strictEqual(o.aware, '2024-01-03T11:00:00.000Z');
  assert.strictEqual(o.nat, null);
  assert.strictEqual(o.na, null);
  assert.strictEqual(o.dt64ns, '2024-01-03T00:00:00.123Z');
  assert.strictEqual(o.dt64day, '2024-01-03T00:00:00.000Z');
  assert.strictEqual(o.dt64before, '1969-12-31T23:59:59.999Z', 'floors before the epoch too');
  assert.strictEqual(o.dt64nat, null);
  assert.strictEqual(o.dt64far, 'wrapped numpy.datetime64', 'beyond a Date: stays wrapped');
  assert.strictEqual(o.td64, 'wrapped numpy.timedelta64');
  assert.strictEqual(o.td64ns, 'wrapped numpy.timedelta64');
  assert.match(o.timedelta, /^wrapped pandas\..*Timedelta$/);
  assert.strictEqual(o.array, 'wrapped numpy.ndarray');
  assert.deepStrictEqual(o.records, [{ d: '2024-01-03T00:00:00.000Z', x: 1.5, n: 1 }, { d: null, x: null, n: null }]);
  assert.strictEqual(o.describe.min, '2024-01-03T00:00:00.000Z');
  assert.strictEqual(o.describe.max, '2024-02-01T00:00:00.000Z');
  assert.strictEqual(o.describe.count, 2);
  assert.strictEqual(o.iloc, '2024-01-03T00:00:00.000Z');
  // tolist() makes naive stdlib datetimes, which read as local time (docs/conversions.md).
  assert.deepStrictEqual(o.tolist, ['2024-01-03T05:00:00.000Z']);
});

test('a converter for pandas.Timestamp wins over the built-in Date', { skip: noPandas }, () => {
  const r = runNode(`const { Python } = require(${JSON.stringify(ROOT)});
    const py = new Python();
    py.exec('import pandas as pd');
    py.registerConverter('pandas.Timestamp', (t) => 'ts ' + t.isoformat());
    const frame = "pd.DataFrame({'d': pd.to_datetime(['2024-01-03'])})";
    console.log(JSON.stringify([py.eval("pd.Timestamp('2024-01-03 10:00')"), py.eval(frame + ".to_dict('records')"), new Python().eval("pd.Timestamp('2024-01-03')")]));`,
  { env: { PYTHON_TS_PYTHON: pandasPython }, timeout: 600000 });
  assert.deepStrictEqual(lastJson(r), ['ts 2024-01-03T10:00:00', [{ d: 'ts 2024-01-03T00:00:00' }], '2024-01-03T00:00:00.000Z']);
});
