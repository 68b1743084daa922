"""Benchmark the liveness check against photo attacks, with and without the continuity rules.

    python -m benchmarks.liveness_continuity [--json PATH] [--per-person N]

Bursts: for N photos of each of the 5 celebrities facing the camera (validation photos first), both
challenge orders (left then right, right then left), every kind of recognition.ml.synthetic.sequence:
genuine (a non-rigid warp that slides the nose as a turning head does, with the kiosk's timing) and
each attack, among them mirror_swap (one turned photo and its mirror image, as [P, Pm, P, P, P, Pm,
Pm, Pm]: issue 13, finding 1) and three_photos (a frontal photo, a turned one and its mirror). Each
burst goes through the real engine (MTCNN landmarks, FaceNet embeddings) once, then through:

  before   the check without the continuity rules (no step or reference limit; the repeated-picture
           check stays, but never fires here: every frame carries its own camera noise)
  now      the check with its defaults (steady reference, 45 deg step limit, no repeated picture)
  strict   now + an angle part way before each direction (intermediate_fraction=0.25), the rule for
           a kiosk that captures through the whole turn

It prints the pass rate per kind (genuine: should be high; attacks: should be 0) and the reasons.
What it cannot tell: the genuine bursts are warped photos, not recordings of people; their turn
jumps across the instruction pause as the kiosk's capture schedule does (hence strict's genuine rate).
"""

from __future__ import annotations

import os
import sys
from collections import Counter

from benchmarks import common

ORDERS = (["left", "right"], ["right", "left"])
NO_CONTINUITY = {"max_step_deg": 1e9, "max_reference_spread_deg": 1e9, "intermediate_fraction": None}


def main(argv: list[str] | None = None) -> dict:
    args = common.parser(__doc__)
    args.add_argument("--per-person", type=int, default=2, help="photos per person (default 2)")
    options = args.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from recognition import services
    from recognition.ml import liveness, synthetic

    engine = services.engine_get()
    engine.warm_up()
    framed = synthetic.framed_photos(engine, services.celebrity_photos_dir(), per_person=options.per_person)
    configs = {
        "before": liveness.LivenessConfig(**NO_CONTINUITY),
        "now": liveness.LivenessConfig(),
        "strict": liveness.LivenessConfig(intermediate_fraction=0.25),
    }
    figures: dict = {"faces": len(framed), "kinds": {}}
    rows = []
    for kind in ("genuine", *synthetic.ATTACKS):
        passed = Counter()
        reasons = Counter()
        total = 0
        for index, face in enumerate(framed):
            # "swapped" turns into somebody else half way: the next photo of another person.
            other = next(f for f in framed[index + 1 :] + framed[:index] if f.person != face.person)
            for number, order in enumerate(ORDERS):
                burst = synthetic.sequence(kind, face, order, other=other, seed=index * 10 + number)
                faces = synthetic.analyse_burst(engine, burst)
                total += 1
                for name, config in configs.items():
                    verdict = liveness.liveness_check(faces, order, config)
                    passed[name] += verdict.passed
                    if name == "now":
                        reasons[verdict.reason] += 1
        figures["kinds"][kind] = {"bursts": total, **{f"passed_{k}": passed[k] for k in configs}}
        figures["kinds"][kind]["reasons_now"] = dict(reasons)
        rows.append([kind, total, *(f"{passed[k]}/{total}" for k in configs), dict(reasons)])
    common.print_table(
        ["kind", "bursts", *(f"pass {k}" for k in configs), "reasons (now)"],
        rows,
        title=f"Liveness on {len(framed)} framed photos x 2 orders, real engine",
    )
    common.emit("liveness_continuity", figures, json_path=options.json)
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
