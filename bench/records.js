'use strict';
// Echo 10 000 records ({ id, name, score, tags }): the everyday payload of plugins.
const { bench, timeMs, echoVariants } = require('./lib');

const recs = Array.from({ length: 10000 }, (_, i) => ({ id: i, name: `n${i}`, score: i * 0.5, tags: ['a', 'b'] }));
bench({
  name: '10 000 records echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { structuredClone(recs); }),
    ...echoVariants(recs, (r) => r[9999].name === 'n9999'),
  },
});
