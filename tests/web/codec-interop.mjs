// gst-wrtcframe
// Copyright (C) 2026 gst-wrtcframe authors
// SPDX-License-Identifier: LGPL-2.0-or-later
//
// web/wrtcframe.js against the C elements, through files and real
// gst-launch-1.0 processes:
//  - a stream the module encodes (3 connections, control messages, frames
//    of 0 B .. 200 KiB) parses in framedemux into byte-exact connections;
//  - a stream framemux writes (2 connections, one of 3 MiB) parses in the
//    module's FrameParser, in random chunkings, into byte-exact
//    connections, each ended by SendEOF;
//  - damage stops the module's parser with an error, never a wrong frame.
// Prints a Check-style summary line (cases) and exits non-zero on a failure.
// Environment: WRTC_GST_LAUNCH (gst-launch-1.0), GST_PLUGIN_PATH_1_0.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, FrameParser, encodeControl, encodeFrame } from
  '../../web/wrtcframe.js';

const launch = process.env.WRTC_GST_LAUNCH || 'gst-launch-1.0';
const dir = mkdtempSync(join(tmpdir(), 'wrtcframe-js-'));
let passed = 0, failed = 0;

function check(cond, what) {
  if (!cond) throw new Error(what);
}

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && Buffer.compare(Buffer.from(a),
      Buffer.from(b)) === 0;
}

// xorshift32: repeatable data and chunkings
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

function pattern(n, seed) {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r() & 0xff;
  return out;
}

function gstLaunch(args) {
  const res = spawnSync(launch, ['-q', ...args], { encoding: 'utf8',
    timeout: 120000 });
  check(res.status === 0, `gst-launch-1.0 ${args.join(' ')}: exit ` +
      `${res.status} ${res.signal || ''}\n${res.stdout}\n${res.stderr}`);
}

function run(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok: ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL: ${name}: ${err.stack || err}`);
  }
}

run('module-encoded stream through framedemux', () => {
  const sizes = [0, 1, 16, 17, 1500, 65536, 200 * 1024, 3];
  const want = new Map([[1, []], [2, []], [3, []]]);
  const parts = [];
  for (const conn of want.keys())
    parts.push(encodeFrame(0, encodeControl(Code.OPEN_CONNECTION, u32(conn))));
  parts.push(encodeFrame(0, encodeControl(Code.PING, u32(7))));
  let seed = 1;
  for (let round = 0; round < 6; round++)
    for (const conn of want.keys()) {
      const p = pattern(sizes[(round + conn) % sizes.length], seed++);
      want.get(conn).push(p);
      parts.push(encodeFrame(conn, p));
    }
  for (const conn of want.keys())
    parts.push(encodeFrame(0, encodeControl(Code.SEND_EOF, u32(conn))));
  writeFileSync(join(dir, 'in.bin'), concat(parts));
  const args = ['filesrc', `location=${join(dir, 'in.bin')}`, '!',
    'framedemux', 'name=d'];
  for (const conn of want.keys())
    args.push(`d.src_${conn}`, '!', 'filesink',
        `location=${join(dir, `out${conn}.bin`)}`);
  gstLaunch(args);
  for (const [conn, pieces] of want) {
    const got = readFileSync(join(dir, `out${conn}.bin`));
    check(equal(got, concat(pieces)), `connection ${conn}: ${got.length} ` +
        `bytes, not the ${concat(pieces).length} sent`);
  }
});

run('framemux stream through the module, any chunking', () => {
  const inputs = { 1: pattern(3 * 1024 * 1024, 11), 2: pattern(70001, 12) };
  for (const [conn, data] of Object.entries(inputs))
    writeFileSync(join(dir, `src${conn}.bin`), data);
  gstLaunch(['framemux', 'name=m', '!', 'filesink',
    `location=${join(dir, 'muxed.bin')}`,
    'filesrc', `location=${join(dir, 'src1.bin')}`, '!', 'm.sink_1',
    'filesrc', `location=${join(dir, 'src2.bin')}`, 'blocksize=1000', '!',
    'm.sink_2']);
  const muxed = new Uint8Array(readFileSync(join(dir, 'muxed.bin')));
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const got = { 1: [], 2: [] };
    const eof = new Set();
    let codes = [];
    const parser = new FrameParser((conn, ts, payload) => {
      check(Math.abs(ts - Date.now()) < 3600 * 1000, `timestamp ${ts}`);
      if (conn === 0) {
        const v = new DataView(payload.buffer, payload.byteOffset);
        const code = v.getUint16(0);
        codes.push(code);
        if (code === Code.SEND_EOF) eof.add(v.getUint32(2));
        return;
      }
      check(!eof.has(conn), `data on connection ${conn} after its SendEOF`);
      got[conn].push(payload);
    });
    for (let off = 0; off < muxed.length;) {
      const n = Math.min(muxed.length - off, 1 + r() % (seed * 40000));
      parser.push(muxed.subarray(off, off + n));
      off += n;
    }
    check(parser.pending === 0, `${parser.pending} bytes left over`);
    check(codes[0] === Code.FLOW_OFFER, `first control code ${codes[0]}`);
    for (const conn of [1, 2]) {
      check(equal(concat(got[conn]), inputs[conn]), `seed ${seed}: ` +
          `connection ${conn} differs`);
      check(eof.has(conn), `connection ${conn}: no SendEOF`);
    }
  }
});

run('damage stops the module parser', () => {
  const good = encodeFrame(1, pattern(100, 5));
  const bad = encodeFrame(1, pattern(100, 6));
  bad[bad.length - 1] = 0x3a;
  const frames = [];
  const parser = new FrameParser((c, ts, p) => frames.push(p));
  parser.push(good);
  let err = null;
  try {
    parser.push(bad);
  } catch (e) {
    err = e;
  }
  check(err && /terminator/.test(err.message), `no error: ${err}`);
  check(frames.length === 1, `${frames.length} frames`);
  const long = encodeFrame(1, new Uint8Array(0));
  new DataView(long.buffer).setUint32(12, 0xffffffff);
  const p2 = new FrameParser(() => {}, { maxFrameSize: 1000 });
  let err2 = null;
  try {
    p2.push(long);
  } catch (e) {
    err2 = e;
  }
  check(err2 && /longer/.test(err2.message), `no error: ${err2}`);
});

rmSync(dir, { recursive: true, force: true });
// the Check-style line tools/count-cases.py reads
console.log(`${Math.round(100 * passed / (passed + failed))}%: Checks: ` +
    `${passed + failed}, Failures: ${failed}, Errors: 0`);
process.exit(failed ? 1 : 0);
