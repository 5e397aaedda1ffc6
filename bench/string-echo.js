'use strict';
// Echo a 10 MB string through Python.
const { bench, timeMs, echoVariants } = require('./lib');

const s = 'abcdefghij'.repeat(1024 * 1024);
bench({
  name: '10 MB string echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { Buffer.from(s, 'utf8').toString('utf8'); }),
    ...echoVariants(s, (r) => r.length === s.length),
  },
});
