'use strict';
// Echo 10 MB of bytes through Python (Buffer → bytes → Buffer: two copies are the floor).
const { bench, timeMs, echoVariants } = require('./lib');

const buf = Buffer.alloc(10 * 1024 * 1024, 7);
bench({
  name: '10 MB bytes echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { Buffer.from(Buffer.from(buf)); }),
    ...echoVariants(buf, (r) => (r.byteLength ?? r.length) === buf.length),
  },
});
