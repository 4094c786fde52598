#!/usr/bin/env python3
"""Helpers of tests/report.sh (standard library only).

  report_check.py marks DOM.html      print "attr<TAB>key<TAB>data-v<TAB>text" per marked element
  report_check.py text DOM.html       the page's visible text, one line per block, without
                                      the elements marked data-timing (they vary run to run)
  report_check.py colours SHOT.png [RRGGBB...]
                                      number of distinct colours of a screenshot (every
                                      other row), then "RRGGBB yes|no" per colour asked for
  report_check.py csvtop KIND FILE    the rows the report should show from a consolidations
                                      or partners CSV: "row.column<TAB>value" lines
  report_check.py crop SHOT.png Y0 Y1 OUT.png   rows Y0..Y1 of a screenshot (to look at)
"""
import html.parser
import struct
import sys
import zlib

MARKS = ("data-k", "data-h", "data-c", "data-p")
BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "tr", "li", "section", "header", "footer",
          "figcaption", "table", "br", "figure", "pre"}
CELLS = {"td", "th"}
SPACED = {"text", "small", "b", "code", "span", "tspan", "figcaption"}
VOID = {"br", "meta", "img", "input", "link", "hr", "rect", "circle", "line", "polyline"}


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []      # [tag, mark-or-None, text parts, timing]
        self.marks = []
        self.lines = [""]
        self.skip = 0        # depth inside data-timing / style / title

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        timing = "data-timing" in a or tag in ("style", "title", "script")
        if tag in BLOCKS:
            self.newline()
        if self.skip == 0:
            if tag in CELLS and self.lines[-1].strip():
                self.lines[-1] += " | "
            elif tag in SPACED:
                self.lines[-1] += " "
        mark = None
        for m in MARKS:
            if m in a:
                mark = (m, a[m], a.get("data-v", ""))
        if tag in VOID:
            return
        self.stack.append([tag, mark, [], timing])
        if timing:
            self.skip += 1

    def handle_endtag(self, tag):
        # pop to the matching tag (the DOM dump is well formed)
        while self.stack:
            t, mark, parts, timing = self.stack.pop()
            if timing:
                self.skip -= 1
            if mark:
                self.marks.append((mark[0], mark[1], mark[2], "".join(parts).strip()))
            if self.stack:
                self.stack[-1][2].extend(parts)
            if t == tag:
                break
        if tag in BLOCKS:
            self.newline()

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)
        if self.skip == 0:
            self.lines[-1] += data

    def newline(self):
        if self.lines[-1].strip():
            self.lines.append("")


def parse(path):
    d = Dom()
    with open(path, encoding="utf-8") as f:
        d.feed(f.read())
    d.close()
    return d


def png_rows(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or inter:
                raise SystemExit(f"{path}: unsupported PNG layout")
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, bpp, rows


def write_png(path, w, bpp, rows):
    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b))
    raw = b"".join(b"\0" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, len(rows), 8, 2 if bpp == 3 else 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                + chunk(b"IEND", b""))


def csvtop(kind, path):
    """An independent reading of what the report's tables hold."""
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if kind == "consolidations":
        keep = [r for r in rows if int(r["shipments"]) >= 2]
        # file order is risk order; a stable sort by probability, then max score, keeps it
        keep.sort(key=lambda r: (-float(r["exam_probability"]), -int(r["max_score"])))
        print("lcl\t%d" % len(keep))
        cols = ("consolidation", "shipments", "exam_probability", "driver_shipment_id",
                "uncertified_shipments")
    else:
        keep = [r for r in rows if r["compliant"] == "0"]
        keep.sort(key=lambda r: (-int(r["shipments"]), -int(r["noncompliant_shipments"])))
        print("noncompliant\t%d" % len(keep))
        print("parties\t%d" % len(rows))
        cols = ("party", "shipments", "noncompliant_shipments")
    for i, r in enumerate(keep[:10]):
        for c in cols:
            print("%d.%s\t%s" % (i, c, r[c]))


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "marks":
        for m in parse(path).marks:
            print("\t".join(m))
    elif cmd == "text":
        for line in parse(path).lines:
            line = " ".join(line.split())
            if line:
                print(line)
    elif cmd == "colours":
        w, bpp, rows = png_rows(path)
        seen = set()
        for r in rows[::2]:
            for i in range(0, len(r), bpp):
                seen.add(r[i:i + 3])
        print(len(seen))
        for c in sys.argv[3:]:
            print(c, "yes" if bytes.fromhex(c) in seen else "no")
    elif cmd == "csvtop":
        csvtop(path, sys.argv[3])
    elif cmd == "crop":
        w, bpp, rows = png_rows(path)
        write_png(sys.argv[5], w, bpp, rows[int(sys.argv[3]):int(sys.argv[4])])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
