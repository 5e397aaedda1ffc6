'use strict';
// Echo a 10 MB BMP string ('x' × 5e6 + '€' × 2.5e6: a two-byte JS string, a 2-byte str).
// Floor: its UTF-16 round trip in JS (out to a Buffer and back).
const { bench, timeMs, echoVariants } = require('./lib');

const s = 'x'.repeat(5e6) + '€'.repeat(2.5e6);
bench({
  name: '10 MB BMP string echo',
  unit: 'ms',
  variants: {
    baseline: async () => timeMs(async () => { Buffer.from(s, 'utf16le').toString('utf16le'); }),
    ...echoVariants(s, (r) => r === s),
  },
});
