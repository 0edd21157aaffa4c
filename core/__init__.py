"""The shared vocabulary, below every other package: the records that flow through the
pipeline (files -> pages -> chunks -> vectors -> index -> passages -> prompt -> answer), the
text helpers, the settings and the errors. Every package imports from here; this one imports
none of them.

    `types`            the frozen records that flow: `PageText`, `Chunk`, `Passage`, `IngestReport`
    `text`             words and sentences, written once: folding, stems, search terms, `[n]`
    `files`            a file's SHA-256, read in blocks: how every part checks its bytes
    `settings_groups`  the settings' groups: each knob with its bounds and what it does
    `settings_env`     the flat `RAG_*` names, derived from the groups, and the older names kept
    `settings`         `Settings`: every group in one object, read from the environment or `.env`
    `errors`           errors that carry the user's next step

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
