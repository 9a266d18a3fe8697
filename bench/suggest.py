"""The workplace suggestion on the intake's path: one reporter's answer compared with every
registered workplace, inside the one writer. Prints ms per suggestion for a short answer
(a name with a typo) and a long one (a story given where the workplace was asked), against
the same comparison done in full (every window of the text, no bounds: what ran before).

    python bench/suggest.py [--workplaces 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time
from collections.abc import Callable
from difflib import SequenceMatcher

from app.cases.workplaces import MATCH_RATIO, _score, _trigrams, fold


def full(said: str, name: str) -> float:
    """Every character window, every comparison done (the code before the bounds)."""
    whole = SequenceMatcher(None, said, name).ratio()
    inside = 0.0
    if len(name) >= 4 and len(said) > len(name):
        inside = max(
            SequenceMatcher(None, said[i : i + len(name)], name).ratio()
            for i in range(len(said) - len(name) + 1)
        )
    return max(whole, inside - 0.02)


def timed(run: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workplaces", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1)
    prefixes = ["Blue", "Star", "Dhaka", "Green", "Apex", "Moon", "Delta"]
    names = [
        fold(f"{rng.choice(prefixes)} {''.join(rng.choices(string.ascii_lowercase, k=8))} Garments")
        for _ in range(args.workplaces)
    ]
    names[len(names) // 2] = fold("Blue Star Garments Ltd")
    story = "the supervisor locks the fire exit during night shifts and we are not paid "
    answers = {
        "short answer (a name with a typo)": fold("blue star garmants, line 4"),
        "long answer (1,600-char story naming it)": fold(
            (story * 20)[:1500] + " at blue star garmants"
        ),
    }
    print(f"{args.workplaces} workplaces, median of {args.repeat}")
    for label, said in answers.items():
        grams = _trigrams(said)

        def pruned(said: str = said, grams: frozenset[str] = grams) -> str | None:
            scored = [(_score(said, n, floor=MATCH_RATIO, grams=grams), n) for n in names]
            best = max(scored)
            return best[1] if best[0] >= MATCH_RATIO else None

        def unpruned(said: str = said) -> str | None:
            best = max((full(said, n), n) for n in names)
            return best[1] if best[0] >= MATCH_RATIO else None

        ms, found = timed(pruned, args.repeat)
        base_ms, base_found = timed(unpruned, max(1, args.repeat // 5))
        same = "same" if found == base_found else f"DIFFERENT: full found {base_found!r}"
        print(f"  {label}: {ms:9.1f} ms  (full comparison {base_ms:9.1f} ms)  {found!r}, {same}")


if __name__ == "__main__":
    main()
