#!/usr/bin/env python3
"""Writes the hand-made seed corpus of the fuzz targets (fuzz/corpus/).

Run from anywhere: python3 fuzz/make-corpus.py. The files are committed; this
script documents how they were made and regenerates them (files named by a
SHA-1 are inputs libFuzzer found, kept minimised with -merge=1; this script
leaves them alone). Each seed is a
tunnel stream (see docs/wire-format.md) behind the target's input header:
  codec:      1 byte, index into max_lengths[] of fuzz-codec.c
  framedemux: 7 bytes, see the comment at the top of fuzz-framedemux.c
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TS = 1700000000123


def frame(conn, payload, ts=TS, length=None, term=b";"):
    n = len(payload) if length is None else length
    return struct.pack(">IQI", conn, ts, n) + payload + term


def control(code, data=b""):
    return frame(0, struct.pack(">H", code) + data)


def conn_msg(code, conn, extra=b""):
    return control(code, struct.pack(">I", conn) + extra)


def two_conn_stream():
    return (conn_msg(101, 1) + conn_msg(103, 1) +
            frame(1, b"hello") + frame(1, b"x" * 300) +
            conn_msg(101, 2, b"extra") + frame(2, bytes(range(256))) +
            frame(1, b";;;") + conn_msg(104, 2) +
            conn_msg(102, 2, struct.pack(">H", 0)) + frame(1, b"bye"))


def streams():
    s = {}
    s["two-connections"] = two_conn_stream()
    # every control message code of wire-format.md, and an unknown one
    s["control-ping-pong"] = control(1, b"abc") + control(2, b"abc") + frame(1, b"p")
    s["control-open"] = conn_msg(101, 7, b"data") + frame(7, b"o")
    s["control-close-u16"] = conn_msg(102, 3, struct.pack(">H", 19)) + frame(3, b"c")
    s["control-close-u8"] = conn_msg(102, 3, b"\x09") + frame(3, b"c")
    s["control-close-truncated"] = conn_msg(102, 3) + frame(3, b"c")
    s["control-opened"] = conn_msg(103, 9) + frame(9, b"d")
    s["control-send-eof"] = conn_msg(104, 1) + frame(1, b"e")
    s["control-metrics"] = (control(301, b"q") + control(302, b"{}") +
                            control(303, b"cfg") + frame(1, b"m"))
    s["control-unknown"] = control(999, b"zz") + control(0) + frame(1, b"u")
    s["control-empty-and-1"] = frame(0, b"") + frame(0, b"\x00") + frame(1, b"z")
    s["control-open-truncated"] = control(101, b"\x00\x01") + frame(1, b"t")
    s["control-only"] = conn_msg(101, 1) + control(1)
    # edge lengths
    s["len-0"] = frame(1, b"") + frame(1, b"a")
    s["len-1"] = frame(1, b"a")
    s["len-65536"] = frame(1, bytes(i * 7 & 0xff for i in range(65536)))
    s["len-1000-max"] = frame(5, b"m" * 1000) + frame(5, b"n")
    s["len-ffffffff"] = frame(1, b"", length=0xFFFFFFFF) + frame(1, b"after")
    s["len-7fffffff"] = frame(1, b"ab", length=0x7FFFFFFF) + frame(1, b"after")
    s["conn-ffffffff"] = frame(0xFFFFFFFF, b"hi", ts=0xFFFFFFFFFFFFFFFF)
    # ';' everywhere
    s["semicolon-payload"] = frame(1, b";" * 200) + frame(2, b";")
    s["semicolons-only"] = b";" * 500
    s["semicolon-headers"] = b";" * 16 + frame(1, b";;")
    # truncated and damaged
    full = two_conn_stream()
    s["truncated-header"] = full[:10]
    s["truncated-payload"] = full[:len(full) - 5]
    s["no-terminator"] = frame(1, b"abc", term=b"X") + frame(1, b"next")
    s["garbage-then-frames"] = b"garbage;" * 10 + frame(1, b"ok") + frame(2, b"ok2")
    s["bad-term-resume"] = frame(1, b"abc", term=b"\x00") + frame(1, b"resume")
    s["false-length-in-garbage"] = (b";" + struct.pack(">IQI", 1, 0, 50) +
                                    b"junk" + frame(1, b"real") + frame(1, b"again"))
    s["empty"] = b""
    return s


# max_lengths[] index (codec) / max_sizes[] index (framedemux) per seed
CODEC_MAX = {"len-1000-max": 7, "len-0": 1, "len-1": 2}
DEMUX_MAX = {"len-1000-max": 9, "len-0": 1, "len-1": 2}


def main():
    for target in ("codec", "framedemux"):
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in sorted(streams().items()):
            if target == "codec":
                blobs = {name: bytes([CODEC_MAX.get(name, 0)]) + data}
            else:
                m = DEMUX_MAX.get(name, 0)
                seed = b"\x12\x34\x56\x78"
                blobs = {
                    # whole stream in one buffer, EOS
                    name: bytes([0x02, m, 17]) + seed + data,
                    # small chunks, two memories, extra ref, EOS, unlinked
                    name + "-chunked": bytes([0x4E, m, 3]) + seed + data,
                }
                if name in ("two-connections", "garbage-then-frames",
                            "len-65536"):
                    # inputs with PTS, DISCONT and a meta of their own
                    blobs[name + "-decorated"] = (bytes([0x02, m, 0x83]) +
                                                  seed + data)
                if name in ("two-connections", "no-terminator",
                            "garbage-then-frames"):
                    # error policy, flush, EOS pads, debug logging
                    blobs[name + "-error-flush"] = (bytes([0xB3, m, 5]) +
                                                    seed + data)
            for fname, blob in blobs.items():
                with open(os.path.join(d, fname), "wb") as f:
                    f.write(blob)


if __name__ == "__main__":
    main()
