'use strict';
// Echo a dict with 10 000 keys.
const { bench, timeMs, echoVariants } = require('./lib');

const obj = {};
for (let i = 0; i < 10000; i++) obj[`key${i}`] = i;
bench({
  name: '10 000-key dict echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { structuredClone(obj); }),
    ...echoVariants(obj, (r) => r.key9999 === 9999),
  },
});
