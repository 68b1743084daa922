"""The face pipeline as a plain library: no Django, and TensorFlow only inside the modules that need it.

Importing this package is cheap. `images`, `weights`, `dataset`, `quality` and `evaluation` never import
TensorFlow; `facenet`, `detector`, `embedder` and `pipeline` do, so callers in the web process reach
them only through `pipeline.get_engine()`, which imports them inside its body.
"""

# Stored with every embedding; change it whenever detection, alignment, preprocessing or the
# weights change, so embeddings made by different pipelines are never compared.
EMBEDDER_VERSION = "facenet-20170512-mtcnn-align-v1"
