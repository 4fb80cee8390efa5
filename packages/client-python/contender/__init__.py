"""Contender's Python client: the registry, serving and scheduler APIs from a notebook.

    from contender import Contender
    c = Contender()                      # CONTENDER_REGISTRY_URL, CONTENDER_API_KEY, … from the environment
    c.create_model("credit", task="binary_classification")
    v = c.upload_version("credit", "model.onnx", metadata={"featureNames": [...], "metrics": {"auc": 0.77}})
    c.set_alias("credit", "challenger", v["version"], reason="new features")
    c.set_traffic("credit", 10)
"""
from .client import Contender, ContenderError

__all__ = ["Contender", "ContenderError"]
