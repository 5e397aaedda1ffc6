'use strict';
// What a built addon is, read from its headers without any tool: ELF (Linux), PE (Windows) and
// Mach-O (macOS). `describe(file)` → { format, arch, bits, needed, undefined, exports, glibc,
// minos, signed, installName }; `check(file, expect)` → the list of what is wrong with it for a
// prebuild (empty when it is right). Used by the distribution build and the package test.
const fs = require('fs');

const ELF_MACHINES = { 3: 'ia32', 62: 'x64', 183: 'arm64', 40: 'arm' };
const PE_MACHINES = { 0x14c: 'ia32', 0x8664: 'x64', 0xaa64: 'arm64' };
const MACHO_CPUS = { 0x01000007: 'x64', 0x0100000c: 'arm64' };

function cstr(buf, off) {
  const end = buf.indexOf(0, off);
  return buf.toString('latin1', off, end < 0 ? buf.length : end);
}

function elf(b) {
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  if (!le) throw new Error('big-endian ELF');
  const u16 = (o) => b.readUInt16LE(o);
  const u32 = (o) => b.readUInt32LE(o);
  const word = is64 ? (o) => Number(b.readBigUInt64LE(o)) : u32;
  const machine = u16(18);
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({ type: u32(o + 4), offset: word(o + (is64 ? 0x18 : 0x10)), size: word(o + (is64 ? 0x20 : 0x14)), link: u32(o + (is64 ? 0x28 : 0x18)), entsize: word(o + (is64 ? 0x38 : 0x24)) });
  }
  const out = { format: 'elf', arch: ELF_MACHINES[machine] || `machine ${machine}`, bits: is64 ? 64 : 32, needed: [], undefined: [], exports: [], glibc: null, debug: false };
  const dynsym = sections.find((s) => s.type === 11);
  if (dynsym) {
    const strtab = sections[dynsym.link];
    const n = dynsym.size / dynsym.entsize;
    for (let i = 1; i < n; i++) {
      const o = dynsym.offset + i * dynsym.entsize;
      const name = cstr(b, strtab.offset + u32(o));
      const shndx = is64 ? u16(o + 6) : u16(o + 14);
      if (!name) continue;
      (shndx === 0 ? out.undefined : out.exports).push(name);
    }
    const strs = b.toString('latin1', strtab.offset, strtab.offset + strtab.size);
    const versions = (strs.match(/GLIBC_2\.\d+/g) || []).map((v) => Number(v.slice(8)));
    if (versions.length) out.glibc = `2.${Math.max(...versions)}`;
  }
  const dynamic = sections.find((s) => s.type === 6);
  if (dynamic) {
    const strtab = sections[dynamic.link];
    const step = is64 ? 16 : 8;
    for (let o = dynamic.offset; o < dynamic.offset + dynamic.size; o += step) {
      const tag = word(o);
      if (tag === 0) break;
      if (tag === 1) out.needed.push(cstr(b, strtab.offset + word(o + step / 2)));
    }
  }
  // Debug information left in (section names are in the section-name string table)
  const shstr = sections[u16(is64 ? 0x3e : 0x32)];
  if (shstr) out.debug = b.toString('latin1', shstr.offset, shstr.offset + shstr.size).includes('.debug_info');
  return out;
}

function pe(b) {
  const peOff = b.readUInt32LE(0x3c);
  if (b.toString('latin1', peOff, peOff + 4) !== 'PE\0\0') throw new Error('not a PE file');
  const coff = peOff + 4;
  const machine = b.readUInt16LE(coff);
  const nsections = b.readUInt16LE(coff + 2);
  const optSize = b.readUInt16LE(coff + 16);
  const opt = coff + 20;
  const magic = b.readUInt16LE(opt);
  const plus = magic === 0x20b;
  const dirs = opt + (plus ? 112 : 96);
  const sections = [];
  for (let i = 0; i < nsections; i++) {
    const o = opt + optSize + i * 40;
    sections.push({ va: b.readUInt32LE(o + 12), vsize: b.readUInt32LE(o + 8), raw: b.readUInt32LE(o + 20), rawSize: b.readUInt32LE(o + 16) });
  }
  const at = (rva) => {
    const s = sections.find((x) => rva >= x.va && rva < x.va + Math.max(x.vsize, x.rawSize));
    if (!s) throw new Error(`RVA ${rva} outside every section`);
    return rva - s.va + s.raw;
  };
  const out = { format: 'pe', arch: PE_MACHINES[machine] || `machine ${machine}`, bits: plus ? 64 : 32, pe32plus: plus, needed: [], undefined: [], exports: [] };
  const expRva = b.readUInt32LE(dirs);
  if (expRva) {
    const e = at(expRva);
    const count = b.readUInt32LE(e + 24);
    const names = at(b.readUInt32LE(e + 32));
    for (let i = 0; i < count; i++) out.exports.push(cstr(b, at(b.readUInt32LE(names + 4 * i))));
  }
  const impRva = b.readUInt32LE(dirs + 8);
  if (impRva) {
    for (let d = at(impRva); ; d += 20) {
      const name = b.readUInt32LE(d + 12);
      if (!name) break;
      out.needed.push(cstr(b, at(name)));
    }
  }
  return out;
}

function macho(b) {
  if (b.readUInt32LE(0) !== 0xfeedfacf) throw new Error('not a 64-bit little-endian Mach-O file');
  const cpu = b.readUInt32LE(4);
  const ncmds = b.readUInt32LE(16);
  const out = { format: 'macho', arch: MACHO_CPUS[cpu] || `cpu ${cpu.toString(16)}`, bits: 64, needed: [], undefined: [], exports: [], minos: null, signed: false, installName: null };
  let trie = null;
  let signature = null;
  const version = (v) => `${v >>> 16}.${(v >> 8) & 0xff}${v & 0xff ? `.${v & 0xff}` : ''}`;
  let o = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = b.readUInt32LE(o);
    const size = b.readUInt32LE(o + 4);
    if (cmd === 0x32) out.minos = version(b.readUInt32LE(o + 12)); // LC_BUILD_VERSION
    else if (cmd === 0x24) out.minos = version(b.readUInt32LE(o + 8)); // LC_VERSION_MIN_MACOSX
    else if (cmd === 0x1d) out.signed = true; // LC_CODE_SIGNATURE
    else if (cmd === 0xd) out.installName = cstr(b, o + b.readUInt32LE(o + 8)); // LC_ID_DYLIB
    else if (cmd === 0xc || cmd === 0x80000018) out.needed.push(cstr(b, o + b.readUInt32LE(o + 8))); // LC_LOAD_(WEAK_)DYLIB
    else if (cmd === 0x2) {
      // LC_SYMTAB: nlist_64 entries; undefined external symbols have type N_UNDF|N_EXT
      const symoff = b.readUInt32LE(o + 8);
      const nsyms = b.readUInt32LE(o + 12);
      const stroff = b.readUInt32LE(o + 16);
      for (let s = 0; s < nsyms; s++) {
        const e = symoff + s * 16;
        const type = b[e + 4];
        if (type & 0xe0) continue; // debugging entries
        const name = cstr(b, stroff + b.readUInt32LE(e));
        if ((type & 0x0e) === 0 && type & 1) out.undefined.push(name);
        else if (type & 1) out.exports.push(name);
      }
    }
    else if (cmd === 0x80000022 || cmd === 0x22) trie = [b.readUInt32LE(o + 40), b.readUInt32LE(o + 44)]; // LC_DYLD_INFO(_ONLY)
    else if (cmd === 0x80000033) trie = [b.readUInt32LE(o + 8), b.readUInt32LE(o + 12)]; // LC_DYLD_EXPORTS_TRIE
    if (cmd === 0x1d) signature = [b.readUInt32LE(o + 8), b.readUInt32LE(o + 12)];
    o += size;
  }
  // What dlsym finds is the export trie, not the symbol table (which `strip` may empty).
  if (trie && trie[1]) out.exports = trieNames(b, trie[0], trie[1]);
  if (signature) out.signatureValid = adHocSignatureValid(b, signature[0]);
  return out;
}

/** The names in a Mach-O export trie: a prefix tree of edges, walked depth first. */
function trieNames(b, start, size) {
  const names = [];
  const uleb = (p) => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const x = b[p.at++];
      v += (x & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(x & 0x80)) return v;
    }
  };
  const walk = (off, prefix, depth) => {
    if (depth > 512 || off >= size) return;
    const p = { at: start + off };
    const terminal = uleb(p);
    if (terminal) names.push(prefix);
    p.at += terminal;
    const children = b[p.at++];
    for (let i = 0; i < children; i++) {
      const end = b.indexOf(0, p.at);
      const edge = b.toString('latin1', p.at, end);
      p.at = end + 1;
      walk(uleb(p), prefix + edge, depth + 1);
    }
  };
  walk(0, '', 0);
  return names;
}

/** Whether the code signature's page hashes match the file (what an ad-hoc signature is). */
function adHocSignatureValid(b, off) {
  const crypto = require('crypto');
  if (b.readUInt32BE(off) !== 0xfade0cc0) return false; // embedded signature SuperBlob
  const count = b.readUInt32BE(off + 8);
  for (let i = 0; i < count; i++) {
    const type = b.readUInt32BE(off + 12 + i * 8);
    const cd = off + b.readUInt32BE(off + 16 + i * 8);
    if (type !== 0 || b.readUInt32BE(cd) !== 0xfade0c02) continue; // the CodeDirectory
    const hashOffset = b.readUInt32BE(cd + 16);
    const nCodeSlots = b.readUInt32BE(cd + 28);
    const codeLimit = b.readUInt32BE(cd + 32);
    const hashSize = b[cd + 36];
    const algo = { 1: 'sha1', 2: 'sha256' }[b[cd + 37]];
    const page = 2 ** b[cd + 39];
    if (!algo) return false;
    for (let s = 0; s < nCodeSlots; s++) {
      const from = s * page;
      const h = crypto.createHash(algo).update(b.subarray(from, Math.min(codeLimit, from + page))).digest().subarray(0, hashSize);
      if (!h.equals(b.subarray(cd + hashOffset + s * hashSize, cd + hashOffset + (s + 1) * hashSize))) return false;
    }
    return nCodeSlots === Math.ceil(codeLimit / page);
  }
  return false;
}

/** What the file is: format, architecture, libraries it needs, undefined and exported symbols. */
function describe(file) {
  const b = fs.readFileSync(file);
  const m4 = b.readUInt32LE(0);
  let d;
  if (m4 === 0x464c457f) d = elf(b);
  else if (b.toString('latin1', 0, 2) === 'MZ') d = pe(b);
  else if (m4 === 0xfeedfacf || m4 === 0xfeedface || m4 === 0xbebafeca) d = macho(b);
  else throw new Error(`${file}: not an ELF, PE or Mach-O file`);
  d.size = b.length;
  return d;
}

/** The prebuilds: tag → what each must be. */
const PREBUILDS = {
  'linux-x64-glibc': { format: 'elf', arch: 'x64', libc: 'glibc' },
  'linux-arm64-glibc': { format: 'elf', arch: 'arm64', libc: 'glibc' },
  'linux-x64-musl': { format: 'elf', arch: 'x64', libc: 'musl' },
  'darwin-x64': { format: 'macho', arch: 'x64', minos: '10.13' },
  'darwin-arm64': { format: 'macho', arch: 'arm64', minos: '11.0', signed: true },
  'win32-x64': { format: 'pe', arch: 'x64' },
  'win32-ia32': { format: 'pe', arch: 'ia32' },
};
const MAX_BYTES = 2 * 1024 * 1024;
const GLIBC_MAX = 28;

/** What is wrong with `file` as the prebuild `tag` ([] when nothing). */
function check(file, tag) {
  const want = PREBUILDS[tag];
  if (!want) return [`unknown prebuild ${tag}`];
  let d;
  try {
    d = describe(file);
  } catch (e) {
    return [e.message];
  }
  const bad = [];
  if (d.format !== want.format) bad.push(`is ${d.format}, not ${want.format}`);
  if (d.arch !== want.arch) bad.push(`is for ${d.arch}, not ${want.arch}`);
  if (d.size > MAX_BYTES) bad.push(`${d.size} bytes (more than 2 MB)`);
  const py = [...d.needed, ...d.undefined].filter((n) => /^_?Py|python3|libpython/i.test(n));
  if (py.length) bad.push(`links CPython: ${py.slice(0, 3).join(', ')}`);
  const napi = d.undefined.filter((n) => /^_?napi_|^_?node_api_/.test(n));
  if (napi.length) bad.push(`imports N-API at link time (${napi.slice(0, 2).join(', ')}): it must resolve it from the host process`);
  if (d.needed.some((n) => /node(\.exe)?$/i.test(n))) bad.push('imports node.exe');
  const entry = d.exports.some((n) => /^_?napi_register_module_v1$/.test(n));
  if (!entry) bad.push('does not export napi_register_module_v1');
  if (d.format === 'elf') {
    if (d.debug) bad.push('has debug information (not stripped)');
    const muslLib = d.needed.some((n) => /^libc\.musl-|^ld-musl-/.test(n) || n === 'libc.so');
    const glibcLib = d.needed.includes('libc.so.6');
    if (want.libc === 'musl' && (!muslLib || d.glibc)) bad.push(`not linked to musl (needs ${d.needed.join(', ')})`);
    if (want.libc === 'glibc') {
      if (!glibcLib) bad.push(`not linked to glibc (needs ${d.needed.join(', ')})`);
      if (d.glibc && Number(d.glibc.split('.')[1]) > GLIBC_MAX) bad.push(`needs glibc ${d.glibc} (more than 2.${GLIBC_MAX})`);
    }
  }
  if (d.format === 'pe' && d.pe32plus !== (want.arch === 'x64')) bad.push(want.arch === 'x64' ? 'not PE32+' : 'not PE32');
  if (d.format === 'macho') {
    if (d.minos !== want.minos) bad.push(`minimum macOS ${d.minos}, not ${want.minos}`);
    if (want.signed && !d.signed) bad.push('not signed (arm64 Macs refuse unsigned code)');
    if (d.signed && !d.signatureValid) bad.push('its code signature does not match its contents (modified after signing)');
    if (d.installName && d.installName.startsWith('/')) bad.push(`install name is a build path (${d.installName})`);
  }
  return bad;
}

module.exports = { describe, check, PREBUILDS, MAX_BYTES };
