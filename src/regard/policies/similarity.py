"""How alike two customer requests are, and which group a request belongs to (C5, S11).

TF-IDF over words (and word pairs) and over character 3–5-grams inside words, each
weighted on the requests at hand, joined and compared by cosine similarity. Character
n-grams carry German compounds and inflections ("Garantieverlängerung" beside "Garantie
verlängern") and typos; words carry meaning. Nothing is downloaded: scikit-learn only.

A request joins the group whose *exemplars* (a group's first members, and every member an
agent moved there by hand) it is most similar to (cosine with their mean) when that reaches ``SIMILARITY_THRESHOLD``;
otherwise it starts a group. TF-IDF does not cross languages: an English and a German
paraphrase start apart, and an agent's move of one German request teaches the group its
German wording (the moved request becomes an exemplar).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer, strip_accents_unicode
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

# Measured on tests/policies/data/exception_requests.csv (test_similarity.py reports purity
# and recall): paraphrases score 0.25–0.7 against each other, unrelated requests below 0.2.
SIMILARITY_THRESHOLD = 0.22
# How many of a group's first members stand for it (besides those an agent placed there).
MAX_EXEMPLARS = 10
_CHUNK = 1000


# Function words of English and German carry no request: "can you", "könnt ihr", "my", "die".
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    [
        "aber",
        "alle",
        "als",
        "also",
        "am",
        "an",
        "auch",
        "auf",
        "aus",
        "bei",
        "bin",
        "bis",
        "bitte",
        "da",
        "damit",
        "dann",
        "das",
        "dass",
        "dem",
        "den",
        "der",
        "des",
        "die",
        "dies",
        "diese",
        "doch",
        "du",
        "durch",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "es",
        "euch",
        "euer",
        "eure",
        "für",
        "gern",
        "gerne",
        "gibt",
        "habe",
        "haben",
        "hallo",
        "hat",
        "hatte",
        "hätte",
        "ich",
        "ihr",
        "ihnen",
        "im",
        "in",
        "ist",
        "ja",
        "jetzt",
        "kann",
        "kannst",
        "können",
        "könnt",
        "könnten",
        "lieber",
        "man",
        "mein",
        "meine",
        "meinem",
        "meinen",
        "meiner",
        "mich",
        "mir",
        "mit",
        "möchte",
        "möglich",
        "nach",
        "nicht",
        "noch",
        "nur",
        "oder",
        "schon",
        "sehr",
        "sein",
        "sie",
        "sind",
        "so",
        "statt",
        "über",
        "um",
        "und",
        "uns",
        "unser",
        "vom",
        "von",
        "vor",
        "war",
        "warum",
        "was",
        "weil",
        "wenn",
        "wie",
        "wir",
        "wird",
        "wo",
        "würde",
        "würden",
        "zu",
        "zum",
        "zur",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "want",
        "like",
        "would",
        "could",
    ]
)
_WORD = re.compile(r"\w\w+")


def _content(text: str) -> str:
    """The request without its function words, lower case, accents folded."""
    words = (word for word in _WORD.findall(text.lower()) if word not in STOP_WORDS)
    return strip_accents_unicode(" ".join(words))


def _vectorizer() -> FeatureUnion:
    common = {
        "preprocessor": _content,
        "sublinear_tf": True,
        "dtype": np.float32,
    }
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=1, **common)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1, **common)),
        ]
    )


def request_vectors(texts: Sequence[str]) -> sparse.csr_matrix:
    """One l2-normalised row per text, weighted on ``texts`` themselves."""
    matrix = _vectorizer().fit_transform(list(texts))
    return normalize(sparse.csr_matrix(matrix, dtype=np.float32))


def nearest_group(
    text: str, exemplars: Sequence[tuple[int, str]], *, threshold: float = SIMILARITY_THRESHOLD
) -> tuple[int | None, float]:
    """The group whose exemplars are most like ``text``, and the similarity; None below threshold."""
    if not exemplars or not text.strip():
        return None, 0.0
    vectors = request_vectors([text, *(exemplar_text for _, exemplar_text in exemplars)])
    groups, centroids = _centroids(
        vectors, range(1, len(exemplars) + 1), [group_id for group_id, _ in exemplars]
    )
    scores = (centroids @ vectors[0].T).toarray().ravel()
    best = int(np.argmax(scores))
    score = float(scores[best])
    return (int(groups[best]) if score >= threshold else None), score


def _centroids(
    vectors: sparse.csr_matrix, rows: Sequence[int], labels: Sequence[int]
) -> tuple[np.ndarray, sparse.csr_matrix]:
    """The distinct labels and, per label, the l2-normalised mean of its exemplars' vectors."""
    distinct, positions = np.unique(np.asarray(labels), return_inverse=True)
    indicator = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (positions, np.arange(len(rows)))),
        shape=(len(distinct), len(rows)),
    )
    return distinct, normalize(indicator @ vectors[list(rows)])


def group_requests(
    texts: Sequence[str],
    *,
    seeds: Sequence[int | None] | None = None,
    threshold: float = SIMILARITY_THRESHOLD,
    max_exemplars: int = MAX_EXEMPLARS,
) -> list[int]:
    """A group label for every text, in order: the batch form of ``nearest_group``.

    ``seeds`` fixes the label of some texts (decided groups, an agent's moves); those are
    exemplars of their label from the start. Labels not given by a seed are new integers
    above every seed. Texts are read in order (oldest first), a chunk at a time: each
    chunk is compared with every exemplar so far in one sparse product, and what matches
    none is grouped among itself in the same order.
    """
    count = len(texts)
    if count == 0:
        return []
    vectors = request_vectors(texts)
    labels = np.full(count, -1, dtype=np.int64)
    exemplar_rows: list[int] = []
    exemplar_labels: list[int] = []
    members: dict[int, int] = {}
    next_label = 0
    if seeds is not None:
        for row, seed in enumerate(seeds):
            if seed is None:
                continue
            labels[row] = seed
            exemplar_rows.append(row)
            exemplar_labels.append(seed)
            members[seed] = members.get(seed, 0) + 1
            next_label = max(next_label, seed + 1)

    def admit(row: int, label: int) -> bool:
        labels[row] = label
        members[label] = members.get(label, 0) + 1
        return members[label] <= max_exemplars

    for start in range(0, count, _CHUNK):
        rows = [row for row in range(start, min(start + _CHUNK, count)) if labels[row] < 0]
        if not rows:
            continue
        unmatched = rows
        if exemplar_rows:
            centroid_labels, centroids = _centroids(vectors, exemplar_rows, exemplar_labels)
            scores = (vectors[rows] @ centroids.T).toarray()
            best = scores.argmax(axis=1)
            best_score = scores[np.arange(len(rows)), best]
            unmatched = []
            for position, row in enumerate(rows):
                if best_score[position] >= threshold:
                    label = int(centroid_labels[best[position]])
                    if admit(row, label):
                        exemplar_rows.append(row)
                        exemplar_labels.append(label)
                else:
                    unmatched.append(row)
        if not unmatched:
            continue
        # What matched no earlier group is grouped among itself, oldest first.
        among = (vectors[unmatched] @ vectors[unmatched].T).toarray()
        is_exemplar = np.zeros(len(unmatched), dtype=bool)
        local_labels = np.full(len(unmatched), -1, dtype=np.int64)
        for position, row in enumerate(unmatched):
            earlier = np.flatnonzero(is_exemplar[:position])
            label = -1
            if earlier.size:
                candidate = earlier[int(np.argmax(among[position, earlier]))]
                if among[position, candidate] >= threshold:
                    label = int(local_labels[candidate])
            if label < 0:
                label = next_label
                next_label += 1
            local_labels[position] = label
            if admit(row, label):
                is_exemplar[position] = True
                exemplar_rows.append(row)
                exemplar_labels.append(label)
    return [int(label) for label in labels]
