'use strict';
// Traced clib calls on Node's diagnostics_channel. While any of the three channels has a
// subscriber, the native side calls `publish(phase, event)` for every clib call of this thread
// (the Python class's calls are clib calls); with none it does not trace at all (one atomic read
// per call). diagnostics_channel tells nobody when a subscriber comes, so each channel's own
// subscribe/unsubscribe is wrapped to switch tracing on and off.
const dc = require('diagnostics_channel');
const clib = require('../native');

const CHANNELS = {
  start: 'python-ts:call:start',
  end: 'python-ts:call:end',
  error: 'python-ts:call:error',
};

const channels = Object.fromEntries(Object.entries(CHANNELS).map(([phase, name]) => [phase, dc.channel(name)]));

function publish(phase, event) {
  const c = channels[phase];
  if (c && c.hasSubscribers) c.publish(event);
}

let on = false;
function refresh() {
  const want = Object.values(channels).some((c) => c.hasSubscribers);
  if (want === on || typeof clib._set_trace !== 'function') return;
  on = want;
  clib._set_trace(on ? publish : null);
}

for (const c of Object.values(channels)) {
  for (const name of ['subscribe', 'unsubscribe']) {
    if (typeof c[name] !== 'function') continue;
    // An own property: it outlives the prototype switch a channel makes on its first subscriber
    // (and Node's method, which calls `this.subscribe` again after that switch, reaches the
    // prototype's method through it).
    Object.defineProperty(c, name, {
      value: function (...args) {
        const r = Object.getPrototypeOf(this)[name].apply(this, args);
        refresh();
        return r;
      },
      configurable: true,
      writable: true,
    });
  }
}
refresh();

module.exports = { CHANNELS };
