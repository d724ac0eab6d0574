// gst-wrtcframe
// Copyright (C) 2026 gst-wrtcframe authors
// SPDX-License-Identifier: LGPL-2.0-or-later
//
// A browser on the other end: Debian's Chromium, headless, driven by
// playwright-core, loads web/index.html from wrtcframe-signalling-server
// and tunnels to a gst-launch-1.0 webrtctunnel (producer) through it.
// Everything runs inside a network namespace this test creates (lo, and a
// veth pair 10.203.9.1/24 - 10.203.9.2/24 for ICE: Chromium gathers no
// loopback candidates) and deletes afterwards. Both ways, byte-exact, two
// connections each way, with the module's credit flow control and
// TunnelFin: gst-launch-1.0 must end by itself (end-when-done) with exit 0.
// Skipped (exit 77) when not root, or without chromium or playwright-core
// (tools/install-deps.sh installs both). Environment: WRTC_GST_LAUNCH,
// WRTC_SIGNALLING_SERVER, WRTC_WEB_ROOT, WRTC_NODE_MODULES, GST_*.

import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync }
  from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ADDR = '10.203.9.1';
const ADDR2 = '10.203.9.2';
const CHROMIUM = process.env.WRTC_CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 120000;
const self = fileURLToPath(import.meta.url);

function skip(why) {
  console.log(`skipped: ${why}`);
  process.exit(77);
}

function loadPlaywright() {
  const where = process.env.WRTC_NODE_MODULES;
  if (!where) return null;
  try {
    return createRequire(join(where, 'x.js'))('playwright-core');
  } catch {
    return null;
  }
}

function ip(...args) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

// ---- outside: the namespace ----

async function outside() {
  if (process.getuid() !== 0) skip('needs root (ip netns)');
  if (!existsSync(CHROMIUM)) skip(`no ${CHROMIUM} (Debian package chromium)`);
  if (!loadPlaywright()) skip('no playwright-core (tools/install-deps.sh)');
  // namespaces left by a run that was killed
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const m of (list.stdout || '').matchAll(/^wrtcweb-(\d+)/gm)) {
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) spawnSync('ip', ['netns', 'del', `wrtcweb-${m[1]}`]);
  }
  const ns = `wrtcweb-${process.pid}`;
  try {
    ip('netns', 'add', ns);
  } catch (err) {
    skip(`ip netns add is not permitted here: ${err.message}`);
  }
  let code = 1;
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    // a veth pair with both ends inside (this kernel has no dummy module)
    ip('-n', ns, 'link', 'add', 'wv0', 'type', 'veth', 'peer', 'name', 'wv1');
    ip('-n', ns, 'addr', 'add', `${ADDR}/24`, 'dev', 'wv0');
    ip('-n', ns, 'addr', 'add', `${ADDR2}/24`, 'dev', 'wv1');
    ip('-n', ns, 'link', 'set', 'wv0', 'up');
    ip('-n', ns, 'link', 'set', 'wv1', 'up');
    code = await new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, self,
        '--inside'], { stdio: 'inherit' });
      const timer = setTimeout(() => {
        console.log(`FAIL: the test did not end within ${3 * WAIT_MS} ms`);
        child.kill('SIGKILL');
      }, 3 * WAIT_MS);
      child.on('exit', (c, sig) => {
        clearTimeout(timer);
        resolve(c ?? (sig ? 1 : 0));
      });
    });
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
  process.exit(code);
}

// ---- inside ----

// xorshift32 patterns, the same as the page's makePattern below
function pattern(n, seed) {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function waitLine(proc, re, what) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`${what}: nothing ` +
        `matching ${re} within ${WAIT_MS} ms:\n${seen}`)), WAIT_MS);
    const on = (d) => {
      seen += d;
      const m = seen.match(re);
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', on);
        resolve(m);
      }
    };
    proc.stdout.on('data', on);
    proc.on('exit', (c) => reject(new Error(`${what} exited (${c}):\n${seen}`)));
  });
}

function exited(proc, ms) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    const timer = setTimeout(() => resolve(null), ms);
    proc.on('exit', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? sig);
    });
  });
}

let passed = 0, failed = 0;
function check(cond, what) {
  if (cond) {
    passed++;
    console.log(`ok: ${what}`);
  } else {
    failed++;
    console.log(`FAIL: ${what}`);
  }
}

// What the page sends: connection -> [size, seed]; and what gst-launch does.
const FROM_BROWSER = { 1: [1024 * 1024 + 3, 31], 2: [65537, 32] };
const FROM_GST = { 1: [1024 * 1024 + 7, 21], 2: [300000, 22] };

async function inside() {
  const { chromium } = loadPlaywright();
  const dir = mkdtempSync(join(tmpdir(), 'wrtcframe-web-'));
  const procs = [];
  let browser = null, gstLog = '';
  try {
    for (const [conn, [n, seed]] of Object.entries(FROM_GST))
      writeFileSync(join(dir, `gst${conn}.bin`), pattern(n, seed));

    const server = spawn(process.env.WRTC_SIGNALLING_SERVER, ['--host',
      '0.0.0.0', '--port', '0', '--web-root', process.env.WRTC_WEB_ROOT],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(server);
    server.stdout.setEncoding('utf8');
    const port = (await waitLine(server, /\(port (\d+)\)/, 'server'))[1];
    const base = `http://127.0.0.1:${port}`;

    const args = ['-e', 'webrtctunnel', 'name=t', `local-addresses=${ADDR}`,
      `signaller::uri=ws://127.0.0.1:${port}/`];
    for (const conn of Object.keys(FROM_GST))
      args.push('filesrc', `location=${join(dir, `gst${conn}.bin`)}`, '!',
          `t.sink_${conn}`);
    for (const conn of Object.keys(FROM_BROWSER))
      args.push(`t.src_${conn}`, '!', 'filesink',
          `location=${join(dir, `got${conn}.bin`)}`);
    const gst = spawn(process.env.WRTC_GST_LAUNCH, args,
        { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(gst);
    gst.stdout.on('data', (d) => { gstLog += d; });
    gst.stderr.on('data', (d) => { gstLog += d; });

    browser = await chromium.launch({ executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        // host candidates as addresses, not mDNS names libnice cannot read
        '--disable-features=WebRtcHideLocalIpsWithMdns'] });
    const page = await browser.newPage();
    page.on('console', (m) => console.log(`page: ${m.text()}`));
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    await page.goto(`${base}/index.html`);

    // the page's own tunnel: send both connections, end them, TunnelFin,
    // and wait until both sides have finished
    const result = await page.evaluate(async ({ sends, waitMs }) => {
      const timeout = (p, what) => Promise.race([p, new Promise((_, rej) =>
        setTimeout(() => rej(new Error(`${what}: over ${waitMs} ms`)),
            waitMs))]);
      const makePattern = (n, seed) => {
        let s = seed >>> 0 || 1;
        const out = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          s ^= s << 13; s >>>= 0;
          s ^= s >>> 17;
          s ^= s << 5; s >>>= 0;
          out[i] = s & 0xff;
        }
        return out;
      };
      const fnv = (chunks) => {
        let h = 0x811c9dc5;
        for (const b of chunks)
          for (let i = 0; i < b.length; i++) {
            h ^= b[i];
            h = Math.imul(h, 0x01000193) >>> 0;
          }
        return h;
      };
      const tunnel = await timeout(window.wrtcframe.ready, 'tunnel up');
      const finished = new Promise((r) =>
        tunnel.addEventListener('finished', r, { once: true }));
      await Promise.all(Object.entries(sends).map(async ([, [n, seed]]) => {
        const c = tunnel.open();
        const data = makePattern(n, seed);
        // in pieces, as a file is read: 64 KiB messages leave the module
        for (let off = 0; off < n; off += 16384)
          await c.write(data.subarray(off, Math.min(n, off + 16384)));
        c.end();
      }));
      tunnel.finish();
      await timeout(finished, 'TunnelFin exchange');
      const received = {};
      for (const [conn, e] of window.wrtcframe.received)
        received[conn] = { bytes: e.bytes, ended: e.ended, hash: fnv(e.chunks) };
      return { received, grant: tunnel.grant, stats: tunnel.stats,
        peerOffered: tunnel.peerOffered,
        maxSent: tunnel.maxMessageSize };
    }, { sends: FROM_BROWSER, waitMs: WAIT_MS });
    console.log(`browser: ${JSON.stringify(result)}`);

    for (const [conn, [n, seed]] of Object.entries(FROM_GST)) {
      const r = result.received[conn];
      check(r && r.bytes === n && r.ended && r.hash === fnv1a(pattern(n, seed)),
          `gst -> browser connection ${conn}: ${n} bytes byte-exact, ended`);
    }
    check(result.grant !== null && result.peerOffered,
        'credit flow control on both ways (FlowGrant received, FlowOffer seen)');
    const code = await exited(gst, WAIT_MS);
    check(code === 0, `gst-launch-1.0 ended by itself with exit 0 (${code})`);
    for (const [conn, [n, seed]] of Object.entries(FROM_BROWSER)) {
      const file = join(dir, `got${conn}.bin`);
      const got = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
      check(got.length === n && Buffer.compare(got,
          Buffer.from(pattern(n, seed))) === 0,
      `browser -> gst connection ${conn}: ${got.length} of ${n} bytes ` +
          'byte-exact');
    }
  } catch (err) {
    failed++;
    console.log(`FAIL: ${err.stack || err}`);
  } finally {
    if (browser) await browser.close();
    for (const p of procs)
      if (p.exitCode === null) p.kill('SIGKILL');
    if (failed) console.log(`gst-launch-1.0 output:\n${gstLog}`);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${Math.round(100 * passed / Math.max(1, passed + failed))}%: ` +
      `Checks: ${passed + failed}, Failures: ${failed}, Errors: 0`);
  process.exit(failed ? 1 : 0);
}

if (process.argv.includes('--inside')) await inside();
else await outside();
