'use strict';
// Echo a 10 MB Latin-1 string ('x' × 5e6 + 'é' × 2.5e6: a one-byte JS string, a 1-byte str).
// Floor: three copies of its 7.5 MB in JS (out to a Buffer, a copy, back to a string).
const { bench, timeMs, echoVariants } = require('./lib');

const s = 'x'.repeat(5e6) + 'é'.repeat(2.5e6);
bench({
  name: '10 MB Latin-1 string echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { Buffer.from(Buffer.from(s, 'latin1')).toString('latin1'); }),
    ...echoVariants(s, (r) => r === s),
  },
});
