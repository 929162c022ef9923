// Generates packages/core/src/crypto/blake3x4-wasm.ts: frame CRC-32s over a whole chunk in one call, and a WebAssembly SIMD BLAKE3 that hashes four inputs of one length
// (0..1024 bytes: a single BLAKE3 chunk, so the root) at once, one input per 32-bit lane. Why: verifyChain hashes
// every payload again, and hash-wasm's BLAKE3 is scalar; payloads in a row mostly have one length.
// Needs LLVM's llc with the wasm32 target (LLVM 14+: `LLC=/usr/lib/llvm-14/bin/llc node scripts/gen-blake3x4-wasm.mjs`).
// The IR is written out here (no C compiler needed); llc's relocatable object is made a plain module by dropping its
// custom sections and adding an export section (it references no data, globals or other functions, so no relocation
// has anything to resolve).
//
// Exported functions: crc_frames (below) and hash4(jobs, n, scratch): for each of `n` jobs of nine i32 at `jobs` (p0, p1, p2, p3, length, o0,
// o1, o2, o3), writes BLAKE3-256 of memory[p_k, p_k + length) to memory[o_k, +32) (a lane may repeat another's
// pointers: the same digest is written twice). `scratch`: 256 bytes it may overwrite (a last partial block is
// zero-padded there).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const llc = process.env.LLC ?? 'llc';

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
const V = '<4 x i32>';
const B = '<16 x i8>';
const CRC_SLICES = 16;

let n = 0;
const t = () => `%t${n++}`;
const lines = [];
const emit = (s) => lines.push(`  ${s}`);
const splat = (c) => `<i32 ${c | 0}, i32 ${c | 0}, i32 ${c | 0}, i32 ${c | 0}>`;

function add(a, b) {
  const r = t();
  emit(`${r} = add ${V} ${a}, ${b}`);
  return r;
}
function xor(a, b) {
  const r = t();
  emit(`${r} = xor ${V} ${a}, ${b}`);
  return r;
}
/** Rotate each lane right by `k`: 16 and 8 as byte shuffles, 12 and 7 as two shifts and an or. */
function rotr(a, k) {
  if (k === 16 || k === 8) {
    const by = k / 8;
    const idx = [];
    for (let w = 0; w < 4; w++) for (let j = 0; j < 4; j++) idx.push(`i32 ${w * 4 + ((j + by) % 4)}`);
    const x = t();
    emit(`${x} = bitcast ${V} ${a} to ${B}`);
    const y = t();
    emit(`${y} = shufflevector ${B} ${x}, ${B} undef, <16 x i32> <${idx.join(', ')}>`);
    const r = t();
    emit(`${r} = bitcast ${B} ${y} to ${V}`);
    return r;
  }
  const s = t();
  emit(`${s} = lshr ${V} ${a}, ${splat(k)}`);
  const u = t();
  emit(`${u} = shl ${V} ${a}, ${splat(32 - k)}`);
  const r = t();
  emit(`${r} = or ${V} ${s}, ${u}`);
  return r;
}

function g(v, a, b, c, d, x, y) {
  v[a] = add(add(v[a], v[b]), x);
  v[d] = rotr(xor(v[d], v[a]), 16);
  v[c] = add(v[c], v[d]);
  v[b] = rotr(xor(v[b], v[c]), 12);
  v[a] = add(add(v[a], v[b]), y);
  v[d] = rotr(xor(v[d], v[a]), 8);
  v[c] = add(v[c], v[d]);
  v[b] = rotr(xor(v[b], v[c]), 7);
}

function shuffle(a, b, idx) {
  const r = t();
  emit(`${r} = shufflevector ${V} ${a}, ${V} ${b}, <4 x i32> <${idx.map((i) => `i32 ${i}`).join(', ')}>`);
  return r;
}

/** Transposes four vectors (rows) into four columns. */
function transpose(a, b, c, d) {
  const ab01 = shuffle(a, b, [0, 4, 1, 5]);
  const ab23 = shuffle(a, b, [2, 6, 3, 7]);
  const cd01 = shuffle(c, d, [0, 4, 1, 5]);
  const cd23 = shuffle(c, d, [2, 6, 3, 7]);
  return [shuffle(ab01, cd01, [0, 1, 4, 5]), shuffle(ab01, cd01, [2, 3, 6, 7]), shuffle(ab23, cd23, [0, 1, 4, 5]), shuffle(ab23, cd23, [2, 3, 6, 7])];
}

function loadV(addr) {
  const p = t();
  emit(`${p} = inttoptr i32 ${addr} to ${V}*`);
  const r = t();
  emit(`${r} = load ${V}, ${V}* ${p}, align 1`);
  return r;
}
function storeV(addr, v) {
  const p = t();
  emit(`${p} = inttoptr i32 ${addr} to ${V}*`);
  emit(`store ${V} ${v}, ${V}* ${p}, align 1`);
}
function addI(a, k) {
  const r = t();
  emit(`${r} = add i32 ${a}, ${k}`);
  return r;
}

// hash4's body: one job (p0..p3, len, out already loaded as %p0..%p3, %len, %out).
const out = [];
out.push('target datalayout = "e-m:e-p:32:32-p10:8:8-p20:8:8-i64:64-n32:64-S128-ni:1:10:20"');
out.push('target triple = "wasm32-unknown-unknown"');
out.push('declare void @llvm.memset.p0i8.i32(i8* nocapture writeonly, i8, i32, i1 immarg)');
out.push('declare void @llvm.memcpy.p0i8.p0i8.i32(i8* noalias nocapture writeonly, i8* noalias nocapture readonly, i32, i1 immarg)');
out.push('define void @hash4(i32 %jobs, i32 %n, i32 %scratch) #0 {');
out.push('entry:');
lines.length = 0;
emit('%none = icmp eq i32 %n, 0');
emit('br i1 %none, label %done, label %job');
out.push(...lines);
lines.length = 0;

// Per job.
out.push('job:');
emit('%j = phi i32 [0, %entry], [%jn, %jobend]');
emit('%jo = mul i32 %j, 36');
emit('%jp = add i32 %jobs, %jo');
for (let k = 0; k < 9; k++) {
  const name = ['p0', 'p1', 'p2', 'p3', 'len', 'o0', 'o1', 'o2', 'o3'][k];
  emit(`%${name}a = add i32 %jp, ${4 * k}`);
  emit(`%${name}ptr = inttoptr i32 %${name}a to i32*`);
  emit(`%${name} = load i32, i32* %${name}ptr, align 4`);
}
emit('%nb0 = add i32 %len, 63');
emit('%nb1 = lshr i32 %nb0, 6');
emit('%nbz = icmp eq i32 %nb1, 0');
emit('%nb = select i1 %nbz, i32 1, i32 %nb1');
emit('%last = sub i32 %nb, 1');
emit('br label %block');
out.push(...lines);
lines.length = 0;

// Per block: phis of the chaining value.
out.push('block:');
emit('%b = phi i32 [0, %job], [%bn, %body]');
for (let i = 0; i < 8; i++) emit(`%cv${i} = phi ${V} [${splat(IV[i])}, %job], [%ncv${i}, %body]`);
emit('%off = shl i32 %b, 6');
emit('%islast = icmp eq i32 %b, %last');
emit('%rem = sub i32 %len, %off');
emit('%blen = select i1 %islast, i32 %rem, i32 64');
emit('%short = icmp ult i32 %blen, 64');
for (let k = 0; k < 4; k++) emit(`%d${k} = add i32 %p${k}, %off`);
emit('br i1 %short, label %pad, label %body');
out.push(...lines);
lines.length = 0;

out.push('pad:');
for (let k = 0; k < 4; k++) {
  emit(`%s${k} = add i32 %scratch, ${64 * k}`);
  emit(`%s${k}p = inttoptr i32 %s${k} to i8*`);
  emit(`%d${k}p = inttoptr i32 %d${k} to i8*`);
  emit(`call void @llvm.memset.p0i8.i32(i8* %s${k}p, i8 0, i32 64, i1 false)`);
  emit(`call void @llvm.memcpy.p0i8.p0i8.i32(i8* %s${k}p, i8* %d${k}p, i32 %blen, i1 false)`);
}
emit('br label %body');
out.push(...lines);
lines.length = 0;

out.push('body:');
for (let k = 0; k < 4; k++) emit(`%q${k} = phi i32 [%s${k}, %pad], [%d${k}, %block]`);
emit('%isfirst = icmp eq i32 %b, 0');
emit('%f0 = zext i1 %isfirst to i32');
emit('%fl = select i1 %islast, i32 10, i32 0');
emit('%flags = or i32 %f0, %fl');
emit(`%flagsi = insertelement ${V} undef, i32 %flags, i32 0`);
emit(`%flagsv = shufflevector ${V} %flagsi, ${V} undef, <4 x i32> zeroinitializer`);
emit(`%bleni = insertelement ${V} undef, i32 %blen, i32 0`);
emit(`%blenv = shufflevector ${V} %bleni, ${V} undef, <4 x i32> zeroinitializer`);
// Message words: four 16-byte loads a lane, transposed so that vector j holds word j of each lane.
const rows = [];
for (let k = 0; k < 4; k++) {
  rows.push([]);
  for (let q = 0; q < 4; q++) rows[k].push(loadV(q === 0 ? `%q${k}` : addI(`%q${k}`, 16 * q)));
}
const m = [];
for (let q = 0; q < 4; q++) m.push(...transpose(rows[0][q], rows[1][q], rows[2][q], rows[3][q]));
const v = [];
for (let i = 0; i < 8; i++) v.push(`%cv${i}`);
for (let i = 0; i < 4; i++) v.push(splat(IV[i]));
v.push(splat(0), splat(0), '%blenv', '%flagsv');
let s = [...Array(16).keys()];
for (let r = 0; r < 7; r++) {
  g(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
  g(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
  g(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
  g(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
  g(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
  g(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
  g(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
  g(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  s = PERM.map((p) => s[p]);
}
for (let i = 0; i < 8; i++) emit(`%ncv${i} = xor ${V} ${v[i]}, ${v[i + 8]}`);
emit('%bn = add i32 %b, 1');
emit('br i1 %islast, label %jobend, label %block');
out.push(...lines);
lines.length = 0;

out.push('jobend:');
const lo = transpose('%ncv0', '%ncv1', '%ncv2', '%ncv3');
const hi = transpose('%ncv4', '%ncv5', '%ncv6', '%ncv7');
for (let k = 0; k < 4; k++) {
  const at = `%o${k}`;
  storeV(at, lo[k]);
  storeV(addI(at, 16), hi[k]);
}
emit('%jn = add i32 %j, 1');
emit('%more = icmp ult i32 %jn, %n');
emit('br i1 %more, label %job, label %done');
out.push(...lines);
lines.length = 0;

out.push('done:');
out.push('  ret void');
out.push('}');
{
  // CRC-32 (zlib's) of each frame's body, slicing by 16 (tables of 256 words each at `tab`, table k for the byte k
  // places before a 16-byte step's end). Why here: zlib's crc32 costs ~200 ns a call whatever the length, most of
  // what a small frame's CRC costs; this one costs ~0.43 ns a byte, so the caller uses it below ~768 B of body.
  const L = out;
  const e = (s) => L.push('  ' + s);
  const S = CRC_SLICES;
  L.push('declare i32 @llvm.bswap.i32(i32)');
// crc(p, len, tab): the CRC-32 of memory[p, p + len).
L.push('define i32 @crc(i32 %p, i32 %len, i32 %tab) #0 {');
L.push('entry:');
e(`%big = icmp uge i32 %len, ${S}`);
e('br i1 %big, label %wide, label %tailpre');
L.push('wide:');
e(`%wp = phi i32 [%p, %entry], [%wpn, %wide]`);
e(`%wl = phi i32 [%len, %entry], [%wln, %wide]`);
e(`%wc = phi i32 [-1, %entry], [%wcn, %wide]`);
let cn = 0;
const ct = () => `%x${cn++}`;
const terms = [];
for (let w = 0; w < S / 4; w++) {
  const a = ct(); e(`${a} = add i32 %wp, ${4 * w}`);
  const pp = ct(); e(`${pp} = inttoptr i32 ${a} to i32*`);
  let v = ct(); e(`${v} = load i32, i32* ${pp}, align 1`);
  if (w === 0) { const v2 = ct(); e(`${v2} = xor i32 ${v}, %wc`); v = v2; }
  for (let b = 0; b < 4; b++) {
    const byteIndex = 4 * w + b; const table = S - 1 - byteIndex;
    let idx;
    if (b === 0) { idx = ct(); e(`${idx} = and i32 ${v}, 255`); }
    else if (b === 3) { idx = ct(); e(`${idx} = lshr i32 ${v}, 24`); }
    else { const s = ct(); e(`${s} = lshr i32 ${v}, ${8 * b}`); idx = ct(); e(`${idx} = and i32 ${s}, 255`); }
    const off = ct(); e(`${off} = shl i32 ${idx}, 2`);
    const a2 = ct(); e(`${a2} = add i32 %tab, ${off}`);
    const a3 = ct(); e(`${a3} = add i32 ${a2}, ${1024 * table}`);
    const p2 = ct(); e(`${p2} = inttoptr i32 ${a3} to i32*`);
    const r = ct(); e(`${r} = load i32, i32* ${p2}, align 4`);
    terms.push(r);
  }
}
let acc = terms[0];
for (let i = 1; i < terms.length; i++) { const r = ct(); e(`${r} = xor i32 ${acc}, ${terms[i]}`); acc = r; }
e(`%wcn = add i32 ${acc}, 0`);
e(`%wpn = add i32 %wp, ${S}`);
e(`%wln = sub i32 %wl, ${S}`);
e(`%wmore = icmp uge i32 %wln, ${S}`);
e('br i1 %wmore, label %wide, label %tailpre');
L.push('tailpre:');
e('%tp0 = phi i32 [%p, %entry], [%wpn, %wide]');
e('%tl0 = phi i32 [%len, %entry], [%wln, %wide]');
e('%tc0 = phi i32 [-1, %entry], [%wcn, %wide]');
e('%tz = icmp eq i32 %tl0, 0');
e('br i1 %tz, label %fin, label %tail');
L.push('tail:');
e('%tp = phi i32 [%tp0, %tailpre], [%tpn, %tail]');
e('%tl = phi i32 [%tl0, %tailpre], [%tln, %tail]');
e('%tc = phi i32 [%tc0, %tailpre], [%tcn, %tail]');
e('%tbp = inttoptr i32 %tp to i8*');
e('%tb = load i8, i8* %tbp');
e('%tbz = zext i8 %tb to i32');
e('%tx = xor i32 %tc, %tbz');
e('%ti = and i32 %tx, 255');
e('%to = shl i32 %ti, 2');
e('%ta = add i32 %tab, %to');
e('%tap = inttoptr i32 %ta to i32*');
e('%tv = load i32, i32* %tap, align 4');
e('%ts = lshr i32 %tc, 8');
e('%tcn = xor i32 %tv, %ts');
e('%tpn = add i32 %tp, 1');
e('%tln = sub i32 %tl, 1');
e('%tmore = icmp ne i32 %tln, 0');
e('br i1 %tmore, label %tail, label %fin');
L.push('fin:');
e('%fc = phi i32 [%tc0, %tailpre], [%tcn, %tail]');
e('%res = xor i32 %fc, -1');
e('ret i32 %res');
L.push('}');
// crc_frames(chunk, frames, tab, out, limit): for each of `frames` frames from `chunk`, out[i] = 1 when the body's
// CRC-32 is its header's, 0 when not, 2 when the body has `limit` bytes or more (left to the caller).
L.push('define void @crc_frames(i32 %chunk, i32 %frames, i32 %tab, i32 %out, i32 %limit) #0 {');
L.push('entry:');
e('%none = icmp eq i32 %frames, 0');
e('br i1 %none, label %done, label %loop');
L.push('loop:');
e('%i = phi i32 [0, %entry], [%in, %next]');
e('%p = phi i32 [%chunk, %entry], [%pn, %next]');
e('%lp = add i32 %p, 4');
e('%lpp = inttoptr i32 %lp to i32*');
e('%lr = load i32, i32* %lpp, align 1');
e('%len = call i32 @llvm.bswap.i32(i32 %lr)');
e('%cp = add i32 %p, 8');
e('%cpp = inttoptr i32 %cp to i32*');
e('%cr = load i32, i32* %cpp, align 1');
e('%stored = call i32 @llvm.bswap.i32(i32 %cr)');
e('%body = add i32 %p, 12');
e('%small = icmp ult i32 %len, %limit');
e('br i1 %small, label %here, label %next');
L.push('here:');
e('%c = call i32 @crc(i32 %body, i32 %len, i32 %tab)');
e('%ok = icmp eq i32 %c, %stored');
e('%okh = zext i1 %ok to i8');
e('br label %next');
L.push('next:');
e('%okb = phi i8 [%okh, %here], [2, %loop]');
e('%op = add i32 %out, %i');
e('%opp = inttoptr i32 %op to i8*');
e('store i8 %okb, i8* %opp');
e('%pn = add i32 %body, %len');
e('%in = add i32 %i, 1');
e('%more = icmp ult i32 %in, %frames');
e('br i1 %more, label %loop, label %done');
L.push('done:');
e('ret void');
L.push('}');
}
out.push('attributes #0 = { nounwind "target-features"="+simd128,+bulk-memory" }');

const dir = mkdtempSync(join(tmpdir(), 'blake3x4-'));
try {
  writeFileSync(join(dir, 'b.ll'), out.join('\n') + '\n');
  execFileSync(llc, ['-O3', '-mtriple=wasm32-unknown-unknown', '-mattr=+simd128,+bulk-memory', '-filetype=obj', '-o', join(dir, 'b.o'), join(dir, 'b.ll')]);
  const obj = readFileSync(join(dir, 'b.o'));
  const wasm = plainModule(obj);
  if (process.env.KEEP_IR) writeFileSync(process.env.KEEP_IR, out.join('\n') + '\n');
  const b64 = Buffer.from(wasm).toString('base64');
  const chunks = b64.match(/.{1,100}/g);
  const ts = `// Generated by scripts/gen-blake3x4-wasm.mjs (BLAKE3 four inputs at a time, WebAssembly SIMD); do not edit by hand.
// Imports its memory as env.__linear_memory; exports hash4 and crc_frames (see the generator).

/** Base64 of the WebAssembly module. */
export const BLAKE3X4_WASM_BASE64 =
${chunks.map((c) => `  '${c}'`).join(' +\n')};
`;
  writeFileSync(join(root, 'packages/core/src/crypto/blake3x4-wasm.ts'), ts);
  console.log(`wrote blake3x4-wasm.ts: ${wasm.length} bytes of wasm`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** An object file's sections without its custom ones, plus the exports (functions in the order the IR defines them). */
function plainModule(bytes) {
  const u = new Uint8Array(bytes);
  const leb = (p) => {
    let r = 0;
    let sh = 0;
    for (;;) {
      const b = u[p++];
      r |= (b & 0x7f) << sh;
      sh += 7;
      if ((b & 0x80) === 0) return [r >>> 0, p];
    }
  };
  const sections = [];
  let p = 8;
  while (p < u.length) {
    const id = u[p];
    const [size, q] = leb(p + 1);
    sections.push({ id, bytes: u.subarray(p, q + size), body: u.subarray(q, q + size) });
    p = q + size;
  }
  // The function must be the module's only one, and nothing may be imported but the memory.
  const imports = sections.find((s) => s.id === 2);
  const funcs = sections.find((s) => s.id === 3);
  // hash4, crc, crc_frames: nothing inlined away (their indices are fixed below).
  if (funcs === undefined || funcs.body[0] !== 3) throw new Error('expected exactly three functions');
  const importText = Buffer.from(imports.body).toString('latin1');
  if (!importText.includes('__linear_memory') || importText.includes('__stack_pointer') || imports.body[0] !== 1) {
    throw new Error(`unexpected imports: ${JSON.stringify(importText)}`);
  }
  const exp = [2];
  for (const [name, index] of [['hash4', 0], ['crc_frames', 2]]) exp.push(name.length, ...Buffer.from(name), 0, index);
  const exportSection = [7, exp.length, ...exp];
  const parts = [u.subarray(0, 8)];
  for (const s of sections) {
    if (s.id === 0) continue;
    if (s.id === 10) parts.push(Uint8Array.from(exportSection));
    parts.push(s.bytes);
  }
  return Buffer.concat(parts);
}
