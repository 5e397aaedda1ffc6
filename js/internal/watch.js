'use strict';
// Python.watch: reload Python modules when their files change (development). fs.watch on every
// folder below the root (non-recursive watches: Linux's recursive fs.watch needs Node 20), a
// short per-file debounce (editors write a file in several steps), reloads on the JS thread.
// Internal modules never import python.js: the reload is a function the instance passes in.
const { EventEmitter } = require('events');
const fs = require('fs');
const path = require('path');

const SETTLE_MS = 50;

class Watcher extends EventEmitter {
  /**
   * @param {string} root a folder or a file
   * @param {(file: string) => Array<[string, Error | null]>} reloadFile reloads the modules of a file
   * @param {((err: Error | null, name?: string) => void) | undefined} onReload
   * @param {() => void} onClose
   */
  constructor(root, reloadFile, onReload, onClose) {
    super();
    this.root = root;
    this.closed = false;
    this._reloadFile = reloadFile;
    this._onReload = onReload;
    this._onClose = onClose;
    this._watchers = [];
    this._timers = new Map();
    const isDir = fs.statSync(root).isDirectory();
    const dirs = isDir ? folders(root) : [path.dirname(root)];
    for (const dir of dirs) {
      const w = fs.watch(dir, (event, name) => {
        if (!name || !String(name).endsWith('.py')) return;
        const file = path.join(dir, String(name));
        if (!isDir && file !== root) return;
        this._schedule(file);
      });
      w.on('error', () => {}); // a folder removed under the watch
      this._watchers.push(w);
    }
  }

  _schedule(file) {
    if (this.closed) return;
    clearTimeout(this._timers.get(file));
    this._timers.set(file, setTimeout(() => {
      this._timers.delete(file);
      if (this.closed || !fs.existsSync(file)) return;
      for (const [name, err] of this._reloadFile(file)) this._report(err, name);
    }, SETTLE_MS));
  }

  _report(err, name) {
    if (this._onReload) {
      try {
        this._onReload(err, name);
      } catch (e) {
        process.nextTick(() => { throw e; });
      }
    }
    if (!err) this.emit('reload', name);
    else if (this.listenerCount('error')) this.emit('error', err);
    else if (!this._onReload) process.emitWarning(`python-ts: reloading ${name} failed; its last good code stays: ${err && err.message}`, { code: 'PYTHON_TS_RELOAD_FAILED' });
  }

  /** Stop watching (also when the Python instance is deleted). */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const w of this._watchers) w.close();
    for (const t of this._timers.values()) clearTimeout(t);
    this._timers.clear();
    this._onClose();
  }
}

/** `dir` and every folder below it, except caches and hidden ones. */
function folders(dir) {
  const out = [dir];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && e.name !== '__pycache__' && !e.name.startsWith('.') && e.name !== 'node_modules') out.push(...folders(path.join(dir, e.name)));
  }
  return out;
}

module.exports = { Watcher };
