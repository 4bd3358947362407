"""Plausible wrong answers to ex00: each must lose the points of the named test cells.

STUDENTS maps a made-up student to the answer cells (by grade_id) they got
wrong, with the code they wrote, and the test cells that must then score below
full marks. Every other autograded cell must keep full marks, so a wrong
answer in one function never costs points elsewhere.
"""

STUDENTS = {
    "integer_division": {
        "answers": {
            "scale_pixels": (
                "def scale_pixels(x):\n    return (x // 255).float()  # integer division: everything but 255 becomes 0\n"
            ),
        },
        "loses": ["test_scale_pixels"],
    },
    "in_place": {
        "answers": {
            # Right values, but it overwrites the caller's tensor (a hidden test catches it).
            "scale_pixels": ("def scale_pixels(x):\n    out = x.to(torch.float32).div_(255)\n    x.zero_()\n    return out\n"),
        },
        "loses": ["test_scale_pixels"],
    },
}
