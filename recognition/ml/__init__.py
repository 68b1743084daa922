"""The face pipeline as a plain library: no Django, and TensorFlow only inside the modules that need it.

Importing this package is cheap. `images`, `weights`, `dataset`, `quality`, `align`, `embeddings`,
`recogniser`, `liveness`, `evaluation` and `synthetic` never import TensorFlow; `facenet`, `detector`
and `embedder` do, so callers in the web process reach them only through `pipeline.get_engine()`,
which imports them inside its body. Of the site's apps only `recognition` imports this package (the
others go through `recognition.services`); benchmarks and tests may use it directly.
"""

# Stored with every embedding; change it whenever detection, alignment, preprocessing or the
# weights change, so embeddings made by different pipelines are never compared.
EMBEDDER_VERSION = "facenet-20170512-mtcnn-align-v1"
