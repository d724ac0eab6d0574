// gst-wrtcframe
// Copyright (C) 2026 gst-wrtcframe authors
// SPDX-License-Identifier: LGPL-2.0-or-later
//
// The tunnel protocol (docs/wire-format.md) over an RTCDataChannel, as a
// plain ES module: many byte streams ("connections") both ways, the
// control connection 0, credit flow control and the TunnelFin ending of
// webrtctunnel/frametunnel. No build step; runs in browsers and in Node.
//
//   import { Tunnel } from './wrtcframe.js';
//   const tunnel = new Tunnel(channel);          // an open RTCDataChannel
//   tunnel.addEventListener('connection', (e) => {
//     e.detail.addEventListener('data', (d) => console.log(d.detail));
//   });
//   const c = tunnel.open();                      // OpenConnection
//   await c.write(new TextEncoder().encode('hi'));
//   c.end();                                      // SendEOF

export const HEADER_SIZE = 16;
export const OVERHEAD = 17;
export const TERMINATOR = 0x3b;

export const Code = Object.freeze({
  PING: 1, PONG: 2,
  OPEN_CONNECTION: 101, CLOSE_CONNECTION: 102, CONNECTION_OPENED: 103,
  SEND_EOF: 104,
  FLOW_OFFER: 1001, FLOW_GRANT: 1002, FLOW_CREDIT: 1003,
  TUNNEL_FIN: 1101, TUNNEL_FIN_ACK: 1102,
});

export const Reason = Object.freeze({ NORMAL: 0, ERROR: 1, CONNECTION_LOST: 9 });

const FLOW_VERSION = 1;

// One frame's wire bytes: header, payload, terminator.
export function encodeFrame(conn, payload, timestampMs = Date.now()) {
  const out = new Uint8Array(OVERHEAD + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, conn);
  v.setBigUint64(4, BigInt(Math.max(0, Math.floor(timestampMs))));
  v.setUint32(12, payload.length);
  out.set(payload, HEADER_SIZE);
  out[HEADER_SIZE + payload.length] = TERMINATOR;
  return out;
}

// A control payload: u16 code, then @data.
export function encodeControl(code, data = new Uint8Array(0)) {
  const out = new Uint8Array(2 + data.length);
  new DataView(out.buffer).setUint16(0, code);
  out.set(data, 2);
  return out;
}

function u32(n) {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// Incremental parser of a framed byte stream in any chunking. Strict:
// damage (a wrong terminator, a frame longer than maxFrameSize) stops it
// with an Error, as the reference peer does; framedemux resynchronises.
export class FrameParser {
  constructor(onFrame, { maxFrameSize = 16 * 1024 * 1024 } = {}) {
    this.onFrame = onFrame;   // (conn, timestampMs, payload: Uint8Array)
    this.maxFrameSize = maxFrameSize;
    this.held = new Uint8Array(0);
    this.failed = null;
  }

  push(chunk) {
    if (this.failed) throw this.failed;
    let data = this.held.length ? concat([this.held, chunk]) : chunk;
    let pos = 0;
    while (data.length - pos >= HEADER_SIZE) {
      const v = new DataView(data.buffer, data.byteOffset + pos, HEADER_SIZE);
      const conn = v.getUint32(0);
      const ts = Number(v.getBigUint64(4));
      const len = v.getUint32(12);
      if (len > this.maxFrameSize) {
        this.failed = new Error(`frame of ${len} bytes on connection ${conn}`
            + ` is longer than ${this.maxFrameSize}`);
        throw this.failed;
      }
      if (data.length - pos < OVERHEAD + len) break;
      if (data[pos + HEADER_SIZE + len] !== TERMINATOR) {
        this.failed = new Error(`frame terminator missing at stream offset`
            + ` of connection ${conn}`);
        throw this.failed;
      }
      // a copy: the caller may keep it while the next chunk arrives
      const payload = data.slice(pos + HEADER_SIZE, pos + HEADER_SIZE + len);
      pos += OVERHEAD + len;
      this.onFrame(conn, ts, payload);
    }
    this.held = data.slice(pos);
  }

  get pending() {
    return this.held.length;
  }
}

// One connection of a Tunnel. Events: 'data' (detail: Uint8Array), 'end'
// (the peer's SendEOF), 'close' (detail: reason).
export class Connection extends EventTarget {
  constructor(tunnel, conn, local) {
    super();
    this.tunnel = tunnel;
    this.conn = conn;
    this.local = local;         // opened by this side
    this.ended = false;         // we sent SendEOF
    this.remoteEnded = false;   // the peer sent SendEOF
    this.closed = false;
    this.sent = 0;              // payload bytes since OpenConnection
    this.acked = 0;             // the peer's last FlowCredit
    this.delivered = 0;         // bytes of the peer handed to 'data'
    this.credited = 0;          // of those, acknowledged
  }

  // Queues @bytes (Uint8Array) and resolves once the tunnel may take more
  // (credit, and the channel below its high-water mark).
  async write(bytes) {
    if (this.ended || this.closed)
      throw new Error(`connection ${this.conn} is ended`);
    const max = this.tunnel.maxFrameSize;
    for (let off = 0; off < bytes.length; off += max) {
      const piece = bytes.subarray(off, Math.min(bytes.length, off + max));
      await this.tunnel._creditFor(this, piece.length);
      if (this.closed) throw new Error(`connection ${this.conn} was closed`);
      this.sent += piece.length;
      this.tunnel.outstanding += piece.length;
      this.tunnel._queueFrame(this.conn, piece);
    }
    await this.tunnel._room();
  }

  // SendEOF: this side sends nothing more on the connection.
  end() {
    if (this.ended || this.closed) return;
    this.ended = true;
    this.tunnel._control(Code.SEND_EOF, u32(this.conn));
    this.tunnel._maybeFin();
  }

  // CloseConnection with @reason (0 Normal).
  close(reason = Reason.NORMAL) {
    if (this.closed) return;
    const d = new Uint8Array(6);
    const v = new DataView(d.buffer);
    v.setUint32(0, this.conn);
    v.setUint16(4, reason);
    this.tunnel._control(Code.CLOSE_CONNECTION, d);
    this._closed(reason);
  }

  _closed(reason) {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    this.tunnel.outstanding -= this.sent - this.acked;
    this.sent = this.acked = 0;
    this.tunnel._wake();
    this.dispatchEvent(new CustomEvent('close', { detail: reason }));
    this.tunnel._maybeFin();
  }
}

// A tunnel over @channel (an RTCDataChannel, open or opening). Events:
// 'connection' (detail: the peer's new Connection), 'control' (detail:
// {code, data}), 'finished' (both sides done: TunnelFin exchanged), 'error'.
export class Tunnel extends EventTarget {
  constructor(channel, {
    flowControl = true,        // offer credit, and grant it when offered
    window = 256 * 1024,       // what we grant per connection
    tunnelWindow = 512 * 1024, // and in all
    maxMessageSize = 64 * 1024, // webrtcbin's limit
    maxFrameSize = 16 * 1024 * 1024,
    highWater = 1024 * 1024,   // channel bufferedAmount that makes write() wait
    firstConnection = 1,
  } = {}) {
    super();
    this.channel = channel;
    this.flowControl = flowControl;
    this.window = window;
    this.tunnelWindow = Math.max(tunnelWindow, window);
    this.maxMessageSize = maxMessageSize;
    this.maxFrameSize = maxFrameSize;
    this.highWater = highWater;
    this.nextConn = firstConnection;
    // Each side numbers the connections it opens: conn N of ours and conn
    // N of the peer's are unrelated streams.
    this.mine = new Map();          // conn -> Connection this side opened
    this.theirs = new Map();        // conn -> Connection the peer opened
    this.out = [];                  // wire bytes waiting to be sent
    this.outBytes = 0;
    this.flushScheduled = false;
    this.waiters = [];
    // sender side of the credit protocol
    this.grant = null;              // {window, tunnel} once granted
    this.outstanding = 0;
    // receiver side
    this.peerOffered = false;
    this.unacked = 0;
    // TunnelFin
    this.finSent = false;
    this.finReceived = null;        // the peer's list of connections
    this.finAckSent = false;
    this.finAckReceived = false;
    this.finished = false;
    this.stats = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0,
      messagesIn: 0, messagesOut: 0 };

    this.parser = new FrameParser((c, ts, p) => this._onFrame(c, ts, p),
        { maxFrameSize });
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = Math.floor(highWater / 4);
    channel.addEventListener('message', (e) => this._onMessage(e.data));
    channel.addEventListener('bufferedamountlow', () => this._wake());
    channel.addEventListener('close', () => this._onChannelClose());
    if (flowControl) {
      const d = u32(FLOW_VERSION);
      this._control(Code.FLOW_OFFER, d);
    }
  }

  // A new connection of this side (OpenConnection, with optional
  // connection-specific @data).
  open(data = new Uint8Array(0)) {
    const conn = this.nextConn++;
    const c = new Connection(this, conn, true);
    this.mine.set(conn, c);
    this._control(Code.OPEN_CONNECTION, concat([u32(conn), data]));
    return c;
  }

  // Sends a control message (u16 @code + @data) on connection 0.
  sendControl(code, data = new Uint8Array(0)) {
    this._control(code, data);
  }

  // TunnelFin once every connection this side opened has ended; the
  // tunnel is finished when both sides have sent and acknowledged it.
  finish() {
    this.wantFin = true;
    this._maybeFin();
  }

  // ---- sending ----

  _control(code, data) {
    this._queueFrame(0, encodeControl(code, data));
  }

  _queueFrame(conn, payload) {
    const f = encodeFrame(conn, payload);
    this.out.push(f);
    this.outBytes += f.length;
    this.stats.framesOut++;
    this.stats.bytesOut += payload.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // frames written in one turn go out together: fewer, fuller messages
      queueMicrotask(() => this._flush());
    }
  }

  _flush() {
    this.flushScheduled = false;
    if (this.channel.readyState !== 'open') {
      if (this.channel.readyState === 'connecting')
        this.channel.addEventListener('open', () => this._flush(),
            { once: true });
      return;
    }
    // the stream is cut into messages of at most maxMessageSize; a frame
    // may run over several
    while (this.outBytes > 0) {
      const n = Math.min(this.outBytes, this.maxMessageSize);
      const msg = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const head = this.out[0];
        const take = Math.min(head.length, n - off);
        msg.set(head.subarray(0, take), off);
        off += take;
        if (take === head.length) this.out.shift();
        else this.out[0] = head.subarray(take);
      }
      this.outBytes -= n;
      this.channel.send(msg);
      this.stats.messagesOut++;
    }
  }

  _wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  _wait() {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  // Resolves when the channel is below its high-water mark.
  async _room() {
    while (this.channel.readyState === 'open' &&
        this.channel.bufferedAmount + this.outBytes > this.highWater)
      await this._wait();
  }

  // The sender rules of docs/wire-format.md (with a grant; before one,
  // and against a peer without flow control, only the channel limits).
  _allows(c, size) {
    if (!this.grant) return true;
    const out = c.sent - c.acked;
    if (out >= this.grant.window / 4 && out + size > this.grant.window)
      return false;
    return this.outstanding < this.grant.tunnel / 4 ||
        this.outstanding + size <= this.grant.tunnel;
  }

  async _creditFor(c, size) {
    while (!c.closed && !this._allows(c, size)) {
      if (this.channel.readyState === 'closed')
        throw new Error('the data channel closed');
      await this._wait();
    }
  }

  // ---- receiving ----

  _onMessage(data) {
    const chunk = new Uint8Array(data);
    this.stats.messagesIn++;
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.dispatchEvent(new CustomEvent('error', { detail: err }));
      this.channel.close();
    }
  }

  _onFrame(conn, ts, payload) {
    if (conn === 0) {
      this._onControl(payload);
      return;
    }
    this.stats.framesIn++;
    this.stats.bytesIn += payload.length;
    // data for a connection the peer did not announce opens it
    const c = this.theirs.get(conn) || this._peerOpened(conn);
    if (c.remoteEnded || c.closed || payload.length === 0) return;
    c.dispatchEvent(new CustomEvent('data', { detail: payload }));
    // handed to the listeners: delivered
    c.delivered += payload.length;
    this.unacked += payload.length;
    this._credit(c, false);
  }

  _peerOpened(conn) {
    const c = new Connection(this, conn, false);
    this.theirs.set(conn, c);
    this.dispatchEvent(new CustomEvent('connection', { detail: c }));
    return c;
  }

  // FlowCredit when the rules of docs/wire-format.md say so.
  _credit(c, final) {
    if (!this.peerOffered) return;
    const owed = (x) => x.delivered > x.credited;
    if (this.unacked >= this.tunnelWindow / 4) {
      for (const x of this.theirs.values())
        if (owed(x)) this._sendCredit(x);
      this.unacked = 0;
    } else if (owed(c) && (final ||
        c.delivered - c.credited >= this.window / 4)) {
      this.unacked -= c.delivered - c.credited;
      this._sendCredit(c);
    } else if (final) {
      this._sendCredit(c);
    }
  }

  _sendCredit(c) {
    const d = new Uint8Array(12);
    const v = new DataView(d.buffer);
    v.setUint32(0, c.conn);
    v.setBigUint64(4, BigInt(c.delivered));
    c.credited = c.delivered;
    this._control(Code.FLOW_CREDIT, d);
  }

  _onControl(payload) {
    if (payload.length < 2) return;
    const v = new DataView(payload.buffer, payload.byteOffset, payload.length);
    const code = v.getUint16(0);
    const data = payload.subarray(2);
    const conn = data.length >= 4 ? v.getUint32(2) : 0;
    switch (code) {
      case Code.PING:
        this._control(Code.PONG, data);
        break;
      case Code.OPEN_CONNECTION:
        if (data.length < 4) break;
        if (!this.theirs.has(conn) || this.theirs.get(conn).closed)
          this._peerOpened(conn);
        this._control(Code.CONNECTION_OPENED, u32(conn));
        break;
      case Code.SEND_EOF: {
        const c = this.theirs.get(conn);
        if (!c || c.remoteEnded) break;
        c.remoteEnded = true;
        this._credit(c, true);
        c.dispatchEvent(new Event('end'));
        this._maybeFinAck();
        break;
      }
      case Code.CLOSE_CONNECTION: {
        // u16 reason; older peers send a u8
        const reason = data.length >= 6 ? v.getUint16(6) :
          data.length === 5 ? data[4] : 0;
        const c = this.theirs.get(conn);
        if (c && !c.closed) {
          this._credit(c, true);
          c.remoteEnded = true;
          c._closed(reason);
          this._maybeFinAck();
        }
        // Error: the peer's branch of our connection failed (as framemux)
        const m = this.mine.get(conn);
        if (reason === Reason.ERROR && m && !m.closed) m._closed(reason);
        break;
      }
      case Code.FLOW_OFFER:
        if (!this.flowControl || this.peerOffered) break;
        this.peerOffered = true;
        {
          const d = new Uint8Array(12);
          const w = new DataView(d.buffer);
          w.setUint32(0, FLOW_VERSION);
          w.setUint32(4, this.window);
          w.setUint32(8, this.tunnelWindow);
          this._control(Code.FLOW_GRANT, d);
        }
        break;
      case Code.FLOW_GRANT:
        if (!this.flowControl || this.grant || data.length < 12) break;
        this.grant = { window: Math.max(1, v.getUint32(6)),
          tunnel: Math.max(1, v.getUint32(10)) };
        this._wake();
        break;
      case Code.FLOW_CREDIT: {
        const c = this.mine.get(conn);
        if (!c || !this.grant || data.length < 12) break;
        const delivered = Math.min(Number(v.getBigUint64(6)), c.sent);
        if (delivered > c.acked) {
          this.outstanding -= delivered - c.acked;
          c.acked = delivered;
          this._wake();
        }
        break;
      }
      case Code.TUNNEL_FIN: {
        const n = data.length >= 4 ? v.getUint32(2) : 0;
        const list = [];
        for (let i = 0; i < n && 4 + 4 * i + 4 <= data.length; i++)
          list.push(v.getUint32(6 + 4 * i));
        this.finReceived = list;
        this._maybeFinAck();
        break;
      }
      case Code.TUNNEL_FIN_ACK:
        this.finAckReceived = true;
        this._maybeFinished();
        break;
      default:
        break;          // unknown codes are skipped
    }
    this.dispatchEvent(new CustomEvent('control', { detail: { code, data } }));
  }

  _maybeFin() {
    if (!this.wantFin || this.finSent) return;
    const mine = [...this.mine.values()];
    if (!mine.every((c) => c.ended || c.closed)) return;
    this.finSent = true;
    this._control(Code.TUNNEL_FIN, concat([u32(mine.length),
      ...mine.map((c) => u32(c.conn))]));
    this._maybeFinished();
  }

  _maybeFinAck() {
    if (!this.finReceived || this.finAckSent) return;
    const done = this.finReceived.every((n) => {
      const c = this.theirs.get(n);
      return !c || c.remoteEnded || c.closed;
    });
    if (!done) return;
    this.finAckSent = true;
    this._control(Code.TUNNEL_FIN_ACK);
    this._maybeFinished();
  }

  _maybeFinished() {
    if (this.finished || !this.finSent || !this.finAckSent ||
        !this.finAckReceived)
      return;
    this.finished = true;
    this.dispatchEvent(new Event('finished'));
  }

  _onChannelClose() {
    for (const c of [...this.mine.values(), ...this.theirs.values()])
      if (!c.closed) c._closed(Reason.CONNECTION_LOST);
    this._wake();
  }
}
