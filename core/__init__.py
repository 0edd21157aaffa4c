"""Shared vocabulary of the project: pipeline data types, settings and errors.

Every other package imports from here; this package imports from none of them,
so dependencies stay one-way: core <- ingest <- retrieval <- llm <- app.

Importing it makes the process offline for the Hugging Face libraries: nothing
in this product may download a model or data at run time.
"""

import os
import sys

for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
# ONNX Runtime's official builds (the embedding engine on AVX2 CPUs) keep a device id and
# send usage events to Microsoft over HTTPS unless this is set before it loads. Not a default.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
# OpenVINO's converter and NNCF report usage to Google Analytics unless a consent file
# says no; with their telemetry package unimportable they use no-op stubs instead.
sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]
