"""The face pipeline as a plain library: no Django, and TensorFlow only inside the modules that need it.

Importing this package is cheap. `images`, `weights`, `dataset`, `quality`, `align`, `embeddings`,
`recogniser`, `liveness`, `evaluation` and `synthetic` never import TensorFlow; `facenet`, `detector`
and `embedder` do, so callers in the web process reach them only through `pipeline.get_engine()`,
which imports them inside its body. Of the site's apps only `recognition` imports this package (the
others go through `recognition.services`); benchmarks and tests may use it directly.
"""

# Stored with every embedding; change it whenever detection, alignment, preprocessing or the
# weights change, so embeddings made by different pipelines are never compared. What each version
# does is in recognition.ml.pipeline.EMBEDDERS (the engine can still make the older ones, so the
# recogniser trained on them keeps serving until every enrolled photo is re-embedded).
# v2: MTCNN's box + 10% margin stretched to 160x160 (as the weights were trained), turned by the eye
# line, averaged with the mirrored crop's embedding (benchmarks/lfw_pipeline.py).
EMBEDDER_VERSION = "facenet-20170512-mtcnn-box-levelled-flip-v2"
# v1: the landmark-placed, eye-levelled crop, no flip.
EMBEDDER_VERSION_V1 = "facenet-20170512-mtcnn-align-v1"
