"""The demo data's three classes and how each is drawn: one look for the datasets and the classroom video.

The demo datasets (:mod:`.demo`) and the classroom video (:mod:`.classroom_video`) draw their objects here,
so that the detectors trained on the one recognise the objects of the other.

Examples:
    >>> import numpy as np
    >>> from yolo_workbook.data.shapes import CLASS_NAMES, draw_object
    >>> img = np.full((32, 32, 3), 180, dtype=np.uint8)
    >>> draw_object(img, CLASS_NAMES.index("desk"), (4, 4, 28, 20), shade=1.0)
    >>> img[12, 16].tolist()  # the desk's colour (BGR), below its darker top edge
    [40, 110, 190]
"""

from __future__ import annotations

import numpy as np

CLASS_NAMES = ("student", "desk", "sitae")
RARE_CLASS = 2  # "sitae": the user's weak minority class

# Colours are BGR (OpenCV). The rare class shares the student's hue family on purpose: it is
# both rare and a little harder, so it trails the others after the base round, as in the diary.
_COLOURS = {0: (200, 90, 40), 1: (40, 110, 190), 2: (185, 95, 60)}


def draw_object(img: np.ndarray, cls: int, box: tuple[int, int, int, int], shade: float) -> None:
    """Draw one object of class ``cls`` into ``img`` (BGR, in place), filling ``box``.

    Args:
        img (np.ndarray): The picture, ``(height, width, 3)`` uint8, BGR.
        cls (int): The class id, an index into :data:`CLASS_NAMES`.
        box (tuple[int, int, int, int]): ``x1, y1, x2, y2`` in pixels.
        shade (float): Brightness factor of the class colour (1.0: as is).
    """
    import cv2

    x1, y1, x2, y2 = box
    colour = tuple(int(np.clip(c * shade, 0, 255)) for c in _COLOURS[cls])
    if cls == 0:  # student: a filled ellipse (a head and shoulders seen from the front)
        centre = ((x1 + x2) // 2, (y1 + y2) // 2)
        cv2.ellipse(img, centre, ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, colour, -1)
    elif cls == 1:  # desk: a filled rectangle with a darker top edge
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, -1)
        cv2.rectangle(img, (x1, y1), (x2, y1 + max(2, (y2 - y1) // 5)), (30, 60, 100), -1)
    else:  # sitae: a triangle, close in colour to a student
        pts = np.array([[(x1 + x2) // 2, y1], [x1, y2], [x2, y2]], dtype=np.int32)
        cv2.fillPoly(img, [pts], colour)
