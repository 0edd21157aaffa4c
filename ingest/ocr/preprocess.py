"""Page image clean-up before OCR: dot leaders are erased.

Tables of contents and forms join a title to its page number with a row of
dots ("Legalese ........ 1"). Tesseract reads such rows as letters ("cece eee
een"), which put more wrong characters on a contents page than all its words.
A run of five or more small, evenly spaced blobs on one line is a leader: it
is painted white, and the title and number are read as they are. A page with
several leaders is a list (contents, index, form): `leader_lines` tells the
engine to read it as one block of lines, or the numbers end up in columns of
their own, away from their titles.
"""

from __future__ import annotations

import numpy as np

from ingest.ocr.render import PageImage

INK = 200  # darker than this is ink (a scanned dot is often only light gray)
MIN_RUN = 5  # dots in a row before they count as a leader (an ellipsis has three)
DOT_INCHES = 0.03  # largest dot side: about a period of 14-point type


def erase_dot_leaders(image: PageImage) -> tuple[PageImage, int]:
    """The image with dot leaders painted white (the same image when it has none),
    and the number of lines that had one."""
    from scipy import ndimage

    gray = np.frombuffer(image.pixels, np.uint8).reshape(image.height, image.width)
    labels, count = ndimage.label(gray < INK)
    if not count:
        return image, 0
    boxes = ndimage.find_objects(labels)
    most = max(2, round(image.dpi * DOT_INCHES))
    dots = []  # (center y, center x, size, label)
    for label, box in enumerate(boxes, start=1):
        h = box[0].stop - box[0].start
        w = box[1].stop - box[1].start
        if h <= most and w <= most and max(h, w) <= 2 * min(h, w):
            cy, cx = (box[0].start + box[0].stop) / 2, (box[1].start + box[1].stop) / 2
            dots.append((cy, cx, max(h, w), label))
    erase, lines = _leader_labels(dots, most)
    if not erase:
        return image, 0
    cleaned = gray.copy()
    cleaned[np.isin(labels, np.fromiter(erase, np.int32))] = 255
    return PageImage(image.width, image.height, cleaned.tobytes(), image.dpi), lines


def _leader_labels(dots: list[tuple[float, float, int, int]], most: int) -> tuple[set[int], int]:
    """Labels of the dots that form runs of MIN_RUN or more along one line; lines with one."""
    lines: list[list[tuple[float, float, int, int]]] = []
    for dot in sorted(dots):
        if lines and abs(dot[0] - lines[-1][0][0]) <= most / 2:
            lines[-1].append(dot)
        else:
            lines.append([dot])
    erase: set[int] = set()
    with_leader = 0
    for line in lines:
        before = len(erase)
        line.sort(key=lambda d: d[1])
        run = [line[0]]
        for dot in line[1:]:
            if dot[1] - run[-1][1] <= 4 * most:
                run.append(dot)
                continue
            if len(run) >= MIN_RUN:
                erase.update(d[3] for d in run)
            run = [dot]
        if len(run) >= MIN_RUN:
            erase.update(d[3] for d in run)
        with_leader += len(erase) > before
    return erase, with_leader
