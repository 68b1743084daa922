"""Evaluate the liveness check on real frames: synthetic head turns of real photos, and photo attacks.

    python -m benchmarks.liveness [--photos 2] [--splits val,train] [--verbose] [--json PATH]

Every 5-celebrity photo used is detected once by the real engine, then framed as a 640x480 webcam
frame with the face about 170 px wide. From that frame it makes bursts of 10 frames, as the kiosk
page captures them (two frames looking ahead, then four for each asked direction), JPEG-encoded:

- genuine: a non-rigid horizontal warp that slides the central features (nose, mouth) sideways
  relative to the eyes and face outline, as a turning head does (the nose stands out of the face);
  both orders, "left then right" and "right then left";
- still: the same photo in every frame (sensor noise only);
- shifted: the photo moved sideways and back by up to half a face width (translation only);
- rotated: the photo rotated in the image plane by up to 15 degrees, one way then the other;
- tilted: the photo as a flat print turned about its vertical axis by up to 35 degrees
  (perspective with a webcam's focal length), one way then the other;
- swapped: a genuine turn that becomes another person's genuine turn half way;
- wrong order: a genuine turn in the opposite order to the one asked (a replayed video).

Each burst goes through the real engine (MTCNN landmarks + FaceNet embeddings) and
recognition.ml.liveness.liveness_check. Prints the genuine pass rate and each attack's reject rate.
The frames and bursts come from recognition.ml.synthetic, which the tests use too. Not a test: it
prints figures only (tests/recognition/ml/test_liveness_frames.py asserts on a subset).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence

from benchmarks.common import emit, parser
from recognition.ml.synthetic import ATTACKS, FramedFace, analyse_burst, framed_photos, sequence


def evaluate(
    engine, faces: Sequence[FramedFace], *, log: Callable[[str], None] = lambda line: None
) -> dict[str, list]:
    """Return {kind: [verdict, ...]} over every photo, both orders, genuine and every attack."""
    from recognition.ml.liveness import liveness_check

    results: dict[str, list] = {kind: [] for kind in ("genuine", *ATTACKS)}
    for index, face in enumerate(faces):
        other = next(f for f in faces[index + 1 :] + faces[:index] if f.person != face.person)
        for order, directions in enumerate((["left", "right"], ["right", "left"])):
            for kind in results:
                burst = sequence(kind, face, directions, other=other, seed=index * 10 + order)
                verdict = liveness_check(analyse_burst(engine, burst), directions)
                results[kind].append(verdict)
                log(
                    f"{face.person}/{face.name} {'+'.join(directions):10s} {kind:11s} "
                    f"{'PASS' if verdict.passed else 'fail'} {verdict.reason:16s} "
                    f"yaw={verdict.figures.get('yaw_deg')} "
                    f"dist={verdict.figures.get('max_identity_distance')} "
                    f"narrow={verdict.figures.get('max_unexplained_narrowing')}"
                )
    return results


def table(results: dict[str, list]) -> str:
    """Return the results as a Markdown table: genuine pass rate, each attack's reject rate."""
    lines = ["| sequences | n | rate | reasons |", "| --- | --- | --- | --- |"]
    for kind, verdicts in results.items():
        genuine = kind == "genuine"
        good = sum(v.passed == genuine for v in verdicts)
        reasons: dict[str, int] = {}
        for v in verdicts:
            reasons[v.reason] = reasons.get(v.reason, 0) + 1
        what = "passed" if genuine else "rejected"
        share = 100 * good / max(1, len(verdicts))
        lines.append(
            f"| {kind} | {len(verdicts)} | {good}/{len(verdicts)} {what} ({share:.0f}%) "
            f"| {', '.join(f'{k} {n}' for k, n in sorted(reasons.items()))} |"
        )
    attacks = [v for kind, vs in results.items() if kind != "genuine" for v in vs]
    rejected = sum(not v.passed for v in attacks)
    lines.append(
        f"| all attacks | {len(attacks)} | {rejected}/{len(attacks)} rejected "
        f"({100 * rejected / max(1, len(attacks)):.0f}%) | |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--photos", type=int, default=2, help="photos per person (default 2)")
    arguments.add_argument("--splits", default="val,train", help="where photos are taken from, in order")
    arguments.add_argument("--verbose", action="store_true", help="print every sequence")
    args = arguments.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from recognition import services

    root = services.celebrity_photos_dir()
    engine = services.engine_get()
    engine.warm_up()
    faces = framed_photos(engine, root, splits=args.splits.split(","), per_person=args.photos)
    print(f"{len(faces)} photos of {len({f.person for f in faces})} people ({args.splits}), 2 orders each")
    results = evaluate(engine, faces, log=print if args.verbose else (lambda line: None))
    print(table(results))
    figures = {
        "photos": len(faces),
        "people": len({f.person for f in faces}),
        "splits": args.splits,
        "sequences": {
            kind: {
                "n": len(verdicts),
                "passed": sum(v.passed for v in verdicts),
                "reasons": dict(sorted(Counter(v.reason for v in verdicts).items())),
            }
            for kind, verdicts in results.items()
        },
    }
    emit("liveness", figures, json_path=args.json)


if __name__ == "__main__":
    main()
