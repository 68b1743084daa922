"""Benchmark liveness against photo attacks: active (head turn), passive (anti-spoofing), both.

    python -m benchmarks.liveness_continuity [--json PATH] [--per-person N] [--captures continuous,paused]

Bursts: for N photos of each of the 5 celebrities facing the camera (validation photos first), both
challenge orders (left then right, right then left), every kind of recognition.ml.synthetic.sequence:
genuine (a non-rigid warp that slides the nose as a turning head does) and each attack, among them
mirror_swap (one turned photo and its mirror image, as [P, Pm, P, P, P, Pm, Pm, Pm]: issue 13,
finding 1) and three_photos (a frontal photo, a turned one and its mirror). Each burst goes through the
real engine (MTCNN landmarks, FaceNet embeddings) once.

Two kiosk captures (recognition.ml.synthetic.profile):

  paused      the earlier kiosk: two frames looking ahead, then per asked direction nothing while the
              instruction is read (600 ms), then four frames (10 frames); the genuine head's turn
              jumps across the pause
  continuous  today's kiosk: a frame every 150 ms through the whole challenge (4 + 12 per direction,
              28 frames); the genuine head is modelled as starting 0.4 s after each instruction and
              easing (half a cosine) to the full turn in 0.9 s, then holding it (recognition.ml.
              synthetic.FRAME_S etc.: at 300 ms, 2 + 6 per direction, strict passed 10 of 20 genuine)

Active checks (recognition.ml.liveness):

  before   without the continuity rules (no step or reference limit)
  now      the defaults without the part-way rule (steady reference, 45 deg step limit, no repeat)
  strict   now + an angle part way before each direction (intermediate_fraction=0.25): the site's
           setting (LIVENESS_INTERMEDIATE_FRACTION) since the kiosk captures without pauses

Passive: the burst's MiniFASNet score (median of the frames' face scores, recognition.ml.antispoof)
at the default threshold; both: strict and passive. Genuine rows are pass rates (higher is better);
attack rows are attack pass rates (0 = every burst refused).

What it cannot tell: the genuine bursts are warped photos, not recordings of people turning (real
heads turn faster or slower than the model); the attacks are digital (the same pixels as a genuine
frame), so the passive check, which looks for print and screen texture, has nothing to see in them:
its figures on simulated prints and screens are in benchmarks.antispoof. Real recordings of printed
photos in front of a webcam are not in this repository.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

from benchmarks import common

ORDERS = (["left", "right"], ["right", "left"])
NO_CONTINUITY = {"max_step_deg": 1e9, "max_reference_spread_deg": 1e9, "intermediate_fraction": None}
ACTIVE = ("before", "now", "strict")
CHECKS = (*ACTIVE, "passive", "both")


def passive_burst_score(model, bursts_rgb, faces) -> float | None:
    """Return the burst's passive score (median over frames with a face), None without a face."""
    from recognition.ml import antispoof

    pairs = [(rgb, [face.box]) for rgb, face in zip(bursts_rgb, faces, strict=True) if face is not None]
    if not pairs:
        return None
    return antispoof.burst_score([float(s[0]) for s in model.score_frames(pairs)])


def main(argv: list[str] | None = None) -> dict:
    args = common.parser(__doc__)
    args.add_argument("--per-person", type=int, default=2, help="photos per person (default 2)")
    args.add_argument("--captures", default="continuous,paused", help="kiosk captures to measure")
    options = args.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from recognition import services
    from recognition.ml import antispoof, liveness, synthetic
    from recognition.ml.images import load_image

    engine = services.engine_get()
    engine.warm_up()
    passive_model = antispoof.get_passive_model()
    threshold = antispoof.DEFAULT_THRESHOLD
    framed = synthetic.framed_photos(engine, services.celebrity_photos_dir(), per_person=options.per_person)
    configs = {
        "before": liveness.LivenessConfig(**NO_CONTINUITY),
        "now": liveness.LivenessConfig(),
        "strict": liveness.LivenessConfig(intermediate_fraction=0.25),
    }
    figures: dict = {"faces": len(framed), "passive_threshold": threshold, "captures": {}}
    for capture in options.captures.split(","):
        rows = []
        kinds: dict = {}
        for kind in ("genuine", *synthetic.ATTACKS):
            passed = Counter()
            reasons = Counter()
            scores = []
            total = 0
            for index, face in enumerate(framed):
                # "swapped" turns into somebody else half way: the next photo of another person.
                other = next(f for f in framed[index + 1 :] + framed[:index] if f.person != face.person)
                for number, order in enumerate(ORDERS):
                    burst = synthetic.sequence(
                        kind, face, order, other=other, seed=index * 10 + number, capture=capture
                    )
                    faces = synthetic.analyse_burst(engine, burst)
                    rgbs = [load_image(data, max_pixels=10_000_000) for data in burst]
                    score = passive_burst_score(passive_model, rgbs, faces)
                    scores.append(score)
                    total += 1
                    verdicts = {name: liveness.liveness_check(faces, order, c) for name, c in configs.items()}
                    for name, verdict in verdicts.items():
                        passed[name] += verdict.passed
                    live = score is not None and score >= threshold
                    passed["passive"] += live
                    passed["both"] += live and verdicts["strict"].passed
                    reasons[verdicts["strict"].reason] += 1
            kinds[kind] = {
                "bursts": total,
                **{f"passed_{k}": passed[k] for k in CHECKS},
                "reasons_strict": dict(reasons),
                "passive_scores": [None if s is None else round(s, 4) for s in scores],
            }
            rows.append([kind, total, *(f"{passed[k]}/{total}" for k in CHECKS), dict(reasons)])
        figures["captures"][capture] = kinds
        common.print_table(
            ["kind", "bursts", *(f"pass {k}" for k in CHECKS), "reasons (strict)"],
            rows,
            title=f"{capture} capture: {len(framed)} framed photos x 2 orders, real engine, "
            f"passive threshold {threshold}",
        )
    common.emit("liveness_continuity", figures, json_path=options.json)
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
