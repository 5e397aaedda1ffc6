'use strict';
// The .d.ts of one module from the model extract.py made of it.
//
// A type in the model says what the Python type is; how TypeScript spells it depends on the
// direction: an argument ('in': what JS may pass, converted to Python) or a result ('out': what
// JS gets back). The two differ where the conversion table is not symmetric — a Python `set`
// comes back as an Array but is made from a Set; a function typed to return a Sequence may
// return a range, which stays wrapped, so only a concrete `list` comes back as an Array.

/** Type names a generated interface must not take (TypeScript's own and python-ts's). */
const RESERVED = new Set([
  'Module', 'PyWrapped', 'PyObject', 'Kwargs', 'PyTuple', 'PythonModules',
  'Promise', 'PromiseLike', 'Date', 'Map', 'ReadonlyMap', 'ReadonlySet', 'Set', 'Record', 'Readonly', 'Uint8Array',
  'Iterator', 'AsyncIterator', 'Symbol', 'Array', 'ReadonlyArray', 'Function', 'Object', 'String', 'Number',
  'Boolean', 'BigInt', 'Error',
  'string', 'number', 'boolean', 'bigint', 'null', 'undefined', 'never', 'any', 'object', 'unknown', 'void',
  'symbol', 'this', 'true', 'false', 'keyof', 'typeof', 'infer', 'is', 'asserts', 'readonly', 'unique', 'type',
  'interface', 'declare', 'module', 'namespace', 'export', 'import', 'default', 'class', 'enum', 'const',
  'let', 'var', 'function', 'new', 'delete', 'in', 'instanceof', 'extends', 'implements', 'super', 'return',
]);
const IDENT = /^[A-Za-z_$][\w$]*$/;

/** A name TypeScript accepts for a type or a parameter: reserved or non-identifier names get a `_`. */
function safeName(name) {
  return IDENT.test(name) && !RESERVED.has(name) ? name : `${name.replace(/[^\w$]/g, '_')}_`;
}

/** A property name as TypeScript writes it. */
function prop(name) {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/** A JSDoc block (indented), or nothing. */
function jsdoc(doc, indent) {
  if (!doc) return '';
  const lines = String(doc).replace(/\*\//g, '*\\/').split('\n');
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.replace(/\s+$/, '')).join('\n')}\n${indent} */\n`;
}

/** Whether a model type is the fallback (nothing known about it). */
function isFallback(t) {
  return !t || t.t === 'any';
}

class ModuleRenderer {
  /**
   * @param model one module's model from extract.py
   * @param files module name → file stem in the output folder, for the modules generated with it
   */
  constructor(model, files) {
    this.model = model;
    this.files = files;
    this.names = new Map();
    /** Keyword object types, named once each (a union signature repeats one many times). */
    this.aliases = new Map();
    this.aliasNames = new Set();
    const taken = new Set();
    const take = (want) => {
      let n = safeName(want);
      while (taken.has(n)) n += '_';
      taken.add(n);
      return n;
    };
    for (const c of model.classes) {
      const inst = take(c.name);
      this.names.set(c.name, { instance: inst, ctor: null });
    }
    for (const c of model.classes) this.names.get(c.name).ctor = take(`${this.names.get(c.name).instance}Constructor`);
  }

  /** A keyword object type: written in place when short, else as a named type of this file. */
  keywords(body, owner) {
    if (body.length <= 48) return body;
    let name = this.aliases.get(body);
    if (!name) {
      const base = `${String(owner).replace(/[^\w$]/g, '_')}Keywords`;
      name = base;
      for (let i = 2; this.aliasNames.has(name) || this.names.has(name); i++) name = `${base}${i}`;
      this.aliases.set(body, name);
      this.aliasNames.add(name);
    }
    return name;
  }

  /** The interface name of a class of this run (this module's or another file's). */
  className(t) {
    if (t.module === this.model.name) {
      const n = this.names.get(t.name);
      return n ? n.instance : 'PyObject';
    }
    const file = this.files[t.module];
    if (!file) return 'PyObject';
    // The other module's own renderer decides its names; a reserved one is suffixed the same way.
    return `import('./${file}').${safeName(t.name)}`;
  }

  type(t, dir) {
    if (!t || typeof t !== 'object') return 'any';
    switch (t.t) {
      case 'any': return 'any';
      case 'never': return 'never';
      case 'empty': return 'never';
      case 'object': return dir === 'in' ? 'PyWrapped' : 'PyObject';
      case 'none': return dir === 'in' ? 'null | undefined' : 'null';
      case 'int': return 'number | bigint';
      case 'float': return 'number';
      case 'str': return 'string';
      case 'bool': return 'boolean';
      case 'bytes': return 'Uint8Array';
      case 'datetime': return 'Date';
      // a date may be a datetime (its subclass): a Date then, else a wrapped date
      case 'date': return dir === 'in' ? 'Date | PyWrapped' : 'Date | PyObject';
      case 'jsin': return dir === 'in' ? t.in : 'any';
      case 'proto': return dir === 'in' ? `${this.type({ t: t.accepts }, 'in')} | PyWrapped` : 'any';
      case 'literal':
        if (typeof t.value === 'string' && /^-?\d+$/.test(t.value)) return `${t.value}n`;
        return JSON.stringify(t.value);
      case 'list': {
        if (dir === 'out' && t.abstract) return 'any';
        const of = this.type(t.of, dir);
        return dir === 'in' ? `readonly ${group(of)}[] | PyWrapped` : `${group(of)}[]`;
      }
      case 'tuple': {
        const items = t.items.map((x) => this.type(x, dir)).join(', ');
        return dir === 'in' ? `readonly [${items}] | PyTuple | PyWrapped` : `[${items}]`;
      }
      case 'set': {
        if (dir === 'out') return t.abstract ? 'any' : `${group(this.type(t.of, 'out'))}[]`;
        return `ReadonlySet<${this.type(t.of, 'in')}> | PyWrapped`;
      }
      case 'dict': {
        if (dir === 'out' && t.abstract) return 'any';
        const v = this.type(t.value, dir);
        const strKeys = t.key && t.key.t === 'str';
        if (dir === 'in') {
          if (strKeys) return `Readonly<Record<string, ${v}>> | ReadonlyMap<string, ${v}> | PyWrapped`;
          if (isFallback(t.key)) return `Readonly<Record<string, ${v}>> | ReadonlyMap<any, ${v}> | PyWrapped`;
          return `ReadonlyMap<${this.type(t.key, 'in')}, ${v}> | PyWrapped`;
        }
        // a dict whose keys are all str comes back as an Object (an empty dict[int, X] too)
        if (strKeys) return `Record<string, ${v}>`;
        return `Record<string, ${v}> | Map<${isFallback(t.key) ? 'any' : this.type(t.key, 'out')}, ${v}>`;
      }
      case 'awaitable': return dir === 'out' ? `PromiseLike<${this.type(t.of, 'out')}>` : 'any';
      case 'callable': {
        // Python calls a JS function with converted arguments (out) and converts its result (in).
        const back = dir === 'in' ? 'out' : 'in';
        const params = t.params ? t.params.map((p, i) => `a${i}: ${this.type(p, back)}`).join(', ') : '...args: any[]';
        const fn = `(${params}) => ${this.type(t.returns, dir)}`;
        return dir === 'in' ? `(${fn}) | PyWrapped` : `(${fn}) & PyWrapped`;
      }
      case 'class': return this.className(t);
      case 'union': {
        const parts = [];
        for (const x of t.of) {
          for (const s of splitUnion(this.type(x, dir))) if (!parts.includes(s)) parts.push(s);
        }
        return parts.includes('any') ? 'any' : parts.join(' | ');
      }
      default: return 'any';
    }
  }

  /**
   * The TypeScript signatures of one Python signature: one per count of positional arguments
   * given, each with the rest (and the keyword-only parameters) in a trailing `kwargs({...})`.
   */
  signatures(sig, wrapReturn, owner = 'call') {
    const params = sig.params;
    const positional = params.filter((p) => p.kind === 'posonly' || p.kind === 'pos');
    const kwonly = params.filter((p) => p.kind === 'kwonly');
    const varargs = params.find((p) => p.kind === 'varargs');
    const varkw = params.find((p) => p.kind === 'varkw');
    let minPos = 0;
    while (minPos < positional.length && !positional[minPos].optional) minPos++;
    const ret = wrapReturn(sig.returns);
    const out = [];
    const names = new Set();
    const pname = (p) => {
      let n = safeName(p.name);
      while (names.has(n)) n += '_';
      return n;
    };
    const head = (k) => {
      names.clear();
      return positional.slice(0, k).map((p) => {
        const n = pname(p);
        names.add(n);
        return `${n}: ${this.type(p.type, 'in')}`;
      });
    };
    const kwObject = (k) => {
      const fields = [...positional.slice(k).filter((p) => p.kind === 'pos'), ...kwonly];
      const body = fields.map((p) => `${prop(p.name)}${p.optional ? '?' : ''}: ${this.type(p.type, 'in')}`);
      // (an index signature must admit every named field too: typed only when it stands alone)
      if (varkw) body.push(`[key: string]: ${isFallback(varkw.type) || fields.length ? 'any' : this.type(varkw.type, 'in')}`);
      if (!body.length) return null;
      return { text: `Kwargs<${this.keywords(`{ ${body.join('; ')} }`, owner)}>`, required: fields.some((p) => !p.optional) };
    };
    const spread = positional.length - minPos;
    const anyRequiredKw = kwonly.some((p) => !p.optional);
    if (spread > 2 && !anyRequiredKw) {
      // Many optional positional parameters: one signature in which each may instead be the
      // trailing kwargs({...}) (an overload per count would multiply with the stub's overloads).
      const h = head(minPos);
      const kw = kwObject(minPos);
      const opt = positional.slice(minPos).map((p) => {
        const n = pname(p);
        names.add(n);
        return `${n}?: ${this.type(p.type, 'in')}${kw ? ` | ${kw.text}` : ''}`;
      });
      if (varargs) {
        const v = this.type(varargs.type, 'in');
        out.push(`(${[...h, ...opt.map((o) => o.replace(/^([^?]+)\?: /, '$1: '))].join(', ')}, ...${pname(varargs)}: ${kw ? `[...${group(v)}[], ${kw.text}] | ` : ''}${group(v)}[]): ${ret}`);
        out.push(`(${[...h, ...opt].join(', ')}): ${ret}`);
      } else {
        out.push(`(${[...h, ...opt, ...(kw ? [`kw?: ${kw.text}`] : [])].join(', ')}): ${ret}`);
      }
      return out;
    }
    for (let k = minPos; k <= positional.length; k++) {
      const h = head(k);
      const kw = kwObject(k);
      if (k === positional.length && varargs) {
        const v = this.type(varargs.type, 'in');
        if (!(kw && kw.required)) out.push(`(${[...h, `...${pname(varargs)}: ${group(v)}[]`].join(', ')}): ${ret}`);
        if (kw) out.push(`(${[...h, `...${pname(varargs)}: [...${group(v)}[], ${kw.text}]`].join(', ')}): ${ret}`);
      } else if (kw) {
        out.push(`(${[...h, `kw${kw.required ? '' : '?'}: ${kw.text}`].join(', ')}): ${ret}`);
      } else {
        out.push(`(${h.join(', ')}): ${ret}`);
      }
    }
    return out;
  }

  /** Members for a callable: `name(...)` and `name_async(...)`, per signature. */
  callable(f, indent, { taken, returns } = {}) {
    let text = '';
    const result = (t) => (returns ? returns : this.type(t, 'out'));
    const awaited = (t) => `Promise<${t && t.t === 'awaitable' ? this.type(t.of, 'out') : result(t)}>`;
    const sigs = [];
    const twins = [];
    for (const s of f.sigs) {
      for (const one of this.signatures(s, result, f.name)) if (!sigs.includes(one)) sigs.push(one);
      for (const one of this.signatures(s, awaited, f.name)) if (!twins.includes(one)) twins.push(one);
    }
    const doc = jsdoc(f.doc, indent);
    for (const [i, s] of sigs.entries()) text += `${i === 0 ? doc : ''}${indent}${prop(f.name)}${s};\n`;
    if (!(taken && taken.has(`${f.name}_async`))) {
      const adoc = jsdoc(`\`${f.name}\` off the JS thread: its result as a Promise.`, indent);
      for (const [i, s] of twins.entries()) text += `${i === 0 ? adoc : ''}${indent}${prop(`${f.name}_async`)}${s};\n`;
    }
    return text;
  }

  klass(c) {
    const { instance, ctor } = this.names.get(c.name);
    const self = c.instance ? this.type(c.instance, 'out') : instance;
    let text = '';
    const members = new Set([...c.methods, ...c.props, ...c.attrs].map((m) => m.name));
    if (c.instance) {
      text += `${jsdoc(`An instance of \`${c.name}\` reaches JS converted, as its base type does.`, '')}export type ${instance} = ${self};\n\n`;
    } else {
      text += `${jsdoc(c.doc, '')}export interface ${instance} extends PyWrapped {\n`;
      for (const m of c.methods) text += this.callable(m, '  ', { taken: members });
      for (const p of c.props) text += `${jsdoc(p.doc, '  ')}  ${p.readonly ? 'readonly ' : ''}${prop(p.name)}: ${this.type(p.type, 'out')};\n`;
      for (const a of c.attrs) if (!members.has(a.name) || !c.props.some((p) => p.name === a.name)) text += `  ${prop(a.name)}: ${this.type(a.type, 'out')};\n`;
      if (c.iterable) text += '  [Symbol.iterator](): Iterator<any>;\n';
      if (c.async_iterable) text += '  [Symbol.asyncIterator](): AsyncIterator<any>;\n';
      if (c.items) text += '  [index: number]: any;\n';
      if (c.callable) text += '  (...args: any[]): any;\n';
      text += '}\n\n';
    }
    text += `${jsdoc(`The class \`${c.name}\`: call it to construct${c.enum ? '; its members are its attributes' : ''}.`, '')}export interface ${ctor} extends PyWrapped {\n`;
    const ctorSigs = [];
    for (const s of c.ctor) for (const one of this.signatures(s, () => self, c.name)) if (!ctorSigs.includes(one)) ctorSigs.push(one);
    if (!c.enum) for (const s of ctorSigs) text += `  ${s};\n`;
    else text += `  (value: any): ${self};\n`;
    for (const m of c.members) text += `  readonly ${prop(m.name)}: ${self};\n`;
    for (const m of c.statics) text += this.callable(m, '  ');
    for (const a of c.attrs) text += `  ${prop(a.name)}: ${this.type(a.type, 'out')};\n`;
    text += '}\n\n';
    return text;
  }

  render() {
    const m = this.model;
    let text = `// Types of the Python module \`${m.name}\` as python-ts hands it to JS (Python ${m.python}${m.stub ? `; stubs: ${m.stub}` : ''}).\n`;
    text += '// Written by `python-ts types`; generate it again rather than edit it.\n';
    text += "import type { Kwargs, PyObject, PyTuple, PyWrapped } from 'python-ts';\n\n";
    text += `${jsdoc(m.doc, '')}export interface Module extends PyWrapped {\n`;
    const taken = new Set([...m.functions, ...m.classes, ...m.constants].map((x) => x.name));
    for (const f of m.functions) text += this.callable(f, '  ', { taken });
    for (const c of m.classes) {
      const { ctor, instance } = this.names.get(c.name);
      text += `${jsdoc(c.doc && c.doc.split('\n')[0], '  ')}  ${prop(c.name)}: ${ctor};\n`;
      if (!c.enum && !taken.has(`${c.name}_async`)) {
        const self = c.instance ? this.type(c.instance, 'out') : instance;
        const twins = [];
        for (const s of c.ctor) for (const one of this.signatures(s, () => `Promise<${self}>`, c.name)) if (!twins.includes(one)) twins.push(one);
        for (const s of twins) text += `  ${prop(`${c.name}_async`)}${s};\n`;
      }
    }
    for (const k of m.constants) text += `  ${prop(k.name)}: ${this.type(k.type, 'out')};\n`;
    text += '}\n\n';
    for (const c of m.classes) text += this.klass(c);
    for (const [body, name] of this.aliases) text += `export type ${name} = ${body};\n`;
    if (this.aliases.size) text += '\n';
    text += `declare module 'python-ts' {\n  interface PythonModules {\n    ${JSON.stringify(m.name)}: Module;\n  }\n}\n`;
    return text;
  }
}

/** The members of a union type at the top level (not inside brackets or parentheses). */
function splitUnion(t) {
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (ch === '(' || ch === '[' || ch === '<' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}' || (ch === '>' && t[i - 1] !== '=')) depth--;
    else if (depth === 0 && t.startsWith(' | ', i)) {
      parts.push(t.slice(start, i));
      start = i + 3;
      i += 2;
    }
  }
  parts.push(t.slice(start));
  return parts;
}

/** Parenthesize a union or function type before `[]`. */
function group(t) {
  return splitUnion(t).length > 1 || /^\(.*\) =>|&/.test(t) || t.startsWith('readonly ') ? `(${t})` : t;
}

/** The .d.ts text of one module's model. `files`: module name → file stem, for cross references. */
function render(model, files = {}) {
  return new ModuleRenderer(model, files).render();
}

module.exports = { render, isFallback, splitUnion };
