"""The benchmark's synthetic set and the model trained on it depend on the seed alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import hashlib, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regard.config.settings")
import django
django.setup()
from regard.matching import engine
from tests.bench import synthetic

rows, truth, newcomers = synthetic.generate(1500, seed=int(sys.argv[1]))
records = [
    engine.profile(**{k: v for k, v in row.items() if k != "rec_id"}) for row in rows
]
model = engine.train(records, seed=int(sys.argv[1]), u_pairs=20_000)
print(synthetic.digest(rows, truth, newcomers))
print(hashlib.sha256(json.dumps(model.to_json(), sort_keys=True).encode()).hexdigest())
"""


def _digests(seed: int, hash_seed: str) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'src'}")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(seed)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_synthetic_set_and_training_do_not_depend_on_the_hash_seed() -> None:
    first = _digests(7, "1")
    second = _digests(7, "2")
    assert len(first) == 2
    assert first == second  # same rows, truth, newcomers and trained parameters
    assert _digests(8, "1")[0] != first[0]  # and the seed does change them
