#!/usr/bin/env node
'use strict';
// The python-ts command: `python-ts types <module>… [--out dir] [--python path] [--plugins dir]
// [--stubs dir] [--watch]` writes one .d.ts per Python module.
const fs = require('fs');
const path = require('path');

const USAGE = `usage: python-ts types <module>... [--out dir] [--python path] [--plugins dir] [--stubs dir] [--watch]

  <module>        a module or submodule to type (json, os.path, numpy, my_plugin)
  --out dir       where the .d.ts files go (default: python-types)
  --python path   the CPython to run (an executable, its library or its folder; default: discovery)
  --plugins dir   a folder put first on sys.path; with no <module>, every module in it
  --stubs dir     a folder of .pyi stubs searched first (typeshed's stdlib/, your own)
  --watch         with --plugins: write the types again whenever a file in the folder changes`;

function parse(argv) {
  const opts = { modules: [], out: 'python-types', python: null, plugins: null, stubs: [], watch: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--out') opts.out = value();
    else if (a === '--python') opts.python = value();
    else if (a === '--plugins') opts.plugins = path.resolve(value());
    else if (a === '--stubs') opts.stubs.push(path.resolve(value()));
    else if (a === '--watch') opts.watch = true;
    else if (a === '-h' || a === '--help') opts.help = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else opts.modules.push(a);
  }
  return opts;
}

function types(opts) {
  const { Python } = require('./index');
  const { generate, modulesIn } = require('./typegen');
  const modules = opts.modules.length ? opts.modules : opts.plugins ? modulesIn(opts.plugins) : [];
  if (!modules.length) throw new Error('name at least one module (or --plugins with a folder of modules)');
  const py = new Python({ runtime_path: opts.python || undefined, plugins_path: opts.plugins || undefined });
  const started = process.hrtime.bigint();
  const r = generate(py, modules, { out: opts.out, stubs: opts.stubs });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  for (const f of r.files) console.log(`wrote ${f}`);
  console.log(`${r.files.length} module(s), ${(r.bytes / 1024).toFixed(1)} KiB, in ${(ms / 1000).toFixed(2)} s`);
}

/** Each change in the plugin folder writes the types again, in a fresh process (fresh imports). */
function watch(opts, argv) {
  const args = [__filename, ...argv.filter((a) => a !== '--watch')];
  const { spawnSync } = require('child_process');
  const run = () => spawnSync(process.execPath, args, { stdio: 'inherit' });
  run();
  let timer = null;
  const changed = (event, file) => {
    if (file && !/\.pyi?$/.test(String(file))) return;
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  };
  try {
    fs.watch(opts.plugins, { recursive: true }, changed);
  } catch (e) {
    // Node 18 on Linux has no recursive watch: each folder of the tree, as it is now.
    const walk = (dir) => {
      fs.watch(dir, changed);
      for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
        if (d.isDirectory() && !d.name.startsWith('.') && d.name !== '__pycache__') walk(path.join(dir, d.name));
      }
    };
    walk(opts.plugins);
  }
  console.log(`watching ${opts.plugins}`);
}

function main(argv) {
  const [command, ...rest] = argv;
  if (command !== 'types') {
    console.error(USAGE);
    return command === undefined || command === '-h' || command === '--help' ? 0 : 2;
  }
  let opts;
  try {
    opts = parse(rest);
  } catch (e) {
    console.error(`python-ts: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.watch) {
    if (!opts.plugins) {
      console.error('python-ts: --watch needs --plugins <dir>');
      return 2;
    }
    watch(opts, ['types', ...rest]);
    return null;
  }
  try {
    types(opts);
    return 0;
  } catch (e) {
    const text = e.traceback || e.message;
    console.error(text.startsWith('python-ts') ? text : `python-ts: ${text}`);
    return 1;
  }
}

const code = main(process.argv.slice(2));
if (code !== null) process.exitCode = code;
