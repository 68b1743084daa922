"""The real engine on a batch of kiosk frames gives each frame what it gives that frame alone."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from recognition import services


def kiosk_frame(photo, size=(640, 480)) -> np.ndarray:
    """A photo centred on a grey 640x480 frame, as the kiosk page sends."""
    image = Image.open(photo).convert("RGB")
    image.thumbnail(size)
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return np.asarray(canvas)


@pytest.fixture(scope="module")
def frames(celebrity_photos) -> list[np.ndarray]:
    """Five people's validation photos as kiosk frames, one grey frame and one frame of another size."""
    val = celebrity_photos["val"]
    shown = [kiosk_frame(val[name][0]) for name in sorted(val)]
    grey = np.full((480, 640, 3), 128, dtype=np.uint8)
    other_size = kiosk_frame(val[sorted(val)[0]][1], size=(320, 240))
    return [*shown, grey, other_size]


def test_a_batch_of_frames_gives_each_frame_its_own_faces(engine, frames):
    """Boxes, landmarks and embeddings from one batched call match each frame analysed alone."""
    batched = engine.analyse_many(frames, max_faces=1)
    assert len(batched) == len(frames)
    for frame, answer in zip(frames, batched, strict=True):
        alone = engine.analyse(frame, max_faces=1)
        assert len(answer) == len(alone)
        for got, expected in zip(answer, alone, strict=True):
            assert np.allclose(got.box, expected.box, atol=1.0), (got.box, expected.box)
            assert float(np.linalg.norm(got.embedding - expected.embedding)) < 0.02
    assert [len(a) for a in batched].count(0) == 1, "only the grey frame has no face"
    # Different people's frames in one batch do not look alike: their embeddings stay apart.
    vectors = np.stack([a[0].embedding for a in batched[:5]])
    distances = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    assert (distances[~np.eye(5, dtype=bool)] > 0.5).all()


@pytest.mark.django_db
def test_frames_recognise_answers_each_frame_and_keeps_a_bad_one_to_itself(engine, frames):
    """frames_recognise: an unreadable upload gets its ImageError in its place, the others an answer."""
    jpegs = []
    for frame in frames[:2]:
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=90)
        jpegs.append(buffer.getvalue())
    answers = services.frames_recognise([jpegs[0], b"not an image", jpegs[1]])
    assert answers[0].face_found and answers[2].face_found
    assert isinstance(answers[1], services.ImageError)
    assert answers[0].reason == "no trained recogniser"  # no version is active in this test
